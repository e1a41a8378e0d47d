"""The chat's language for the update being handled, and gettext lookups in it.

Text is translated where it is made (handlers and renderers), never in services: the
language is carried in a context variable set once per update (or per alert sent), so
concurrent updates in different languages never see each other's language.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

DEFAULT_LANGUAGE = "en"
# Compiled catalogs ship inside the package: handlers/locales/<code>/LC_MESSAGES/newsbot.mo
LOCALE_DIR = Path(__file__).with_name("locales")
DOMAIN = "newsbot"

_language: ContextVar[str] = ContextVar("newsbot_language", default=DEFAULT_LANGUAGE)


@cache
def _translations(code: str) -> gettext.NullTranslations:
    # fallback=True: a language without a compiled catalog speaks the English msgids.
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[code], fallback=True)


def current_language() -> str:
    return _language.get()


@contextmanager
def use_language(code: str) -> Iterator[None]:
    """Speak ``code`` inside the block (and in tasks it starts), then the previous language."""
    token = _language.set(code)
    try:
        yield
    finally:
        _language.reset(token)


def _(message: str) -> str:
    """``message`` in the current language."""
    return _translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The plural form for ``count`` in the current language (Russian has three)."""
    return _translations(_language.get()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for extraction only; translate it later with ``_``."""
    return message
