"""The chat's language for the update being handled, and gettext lookups in it.

Text is translated where it is made (handlers and renderers), never in services: the
language is carried in a context variable set once per update (or per alert sent), so
concurrent updates in different languages never see each other's language. python-telegram-bot
handles each update in a task of its own, and a task runs in a copy of the context it was
started from: a language set while handling one update is invisible to every other.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from services.languages import DEFAULT_TIMEZONE

DEFAULT_LANGUAGE = "en"
# Compiled catalogs ship inside the package: handlers/locales/<code>/LC_MESSAGES/newsbot.mo
LOCALE_DIR = Path(__file__).with_name("locales")
DOMAIN = "newsbot"
# English is the source language (the msgids); every other one has a complete catalog.
LANGUAGES = ("en", "ru", "uk", "es", "pt_BR", "fa")

_language: ContextVar[str] = ContextVar("newsbot_language", default=DEFAULT_LANGUAGE)
_timezone: ContextVar[str] = ContextVar("newsbot_timezone", default=DEFAULT_TIMEZONE)

# First Strong Isolate ... Pop Directional Isolate. In right-to-left text (Persian) a title,
# link, handle or id written left to right would otherwise take part in the sentence's
# bidirectional layout: a Latin title ending in a number or "?" has its end moved to the
# wrong side, and "#12:" reads as ":12#". An isolate lays the inserted text out on its own,
# in its own direction, as one unit of the surrounding sentence (Unicode UAX #9).
_FSI = "\u2068"
_PDI = "\u2069"


@cache
def _translations(code: str) -> gettext.NullTranslations:
    # fallback=True: a language without a compiled catalog speaks the English msgids.
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[code], fallback=True)


@cache
def _locale(code: str) -> Locale:
    return Locale.parse(code)


def current_language() -> str:
    return _language.get()


def current_timezone() -> str:
    return _timezone.get()


@contextmanager
def use_language(code: str, timezone: str | None = None) -> Iterator[None]:
    """Speak ``code`` (and show times in ``timezone``) inside the block, then what was before.

    Tasks started inside the block inherit both, as a copy.
    """
    token = _language.set(code)
    zone_token = _timezone.set(timezone) if timezone is not None else None
    try:
        yield
    finally:
        if zone_token is not None:
            _timezone.reset(zone_token)
        _language.reset(token)


def set_language(code: str, timezone: str | None = None) -> None:
    """Speak ``code`` for the rest of the current update (its task's context is its own)."""
    _language.set(code)
    _timezone.set(timezone or DEFAULT_TIMEZONE)


def _(message: str) -> str:
    """``message`` in the current language."""
    return _translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The plural form for ``count`` in the current language (Russian has three)."""
    return _translations(_language.get()).ngettext(singular, plural, count)


def N_(message: str) -> str:
    """Mark ``message`` for extraction only; translate it later with ``_``."""
    return message


def negotiate(language_code: str | None) -> str | None:
    """The shipped language for a Telegram ``language_code`` (an IETF tag), or None.

    Like Babel's ``Locale.negotiate``: the exact tag first (``pt-br`` -> pt_BR), then the
    language alone (``ru-RU`` -> ru, ``pt`` -> pt_BR, the one Portuguese shipped).
    """
    if not language_code:
        return None
    wanted = language_code.replace("-", "_").lower()
    by_tag = {code.lower(): code for code in LANGUAGES}
    if wanted in by_tag:
        return by_tag[wanted]
    base = wanted.split("_", 1)[0]
    for code in LANGUAGES:
        if code.lower().split("_", 1)[0] == base:
            return code
    return None


def language_name(code: str, *, capitalised: bool = True) -> str:
    """A language by its own name: "Русский", "Português (Brasil)", "فارسی" (for a button;
    ``capitalised=False`` inside a sentence: "hablo español")."""
    name = _locale(code).get_display_name(code) or code
    return name[:1].upper() + name[1:] if capitalised else name


def is_rtl(code: str | None = None) -> bool:
    return _locale(code or _language.get()).character_order == "right-to-left"


def bidi(text: str) -> str:
    """``text`` isolated from the sentence around it when the language is right-to-left.

    For titles, links, handles and ids placed into translated text (see _FSI above).
    Left-to-right languages get the text unchanged.
    """
    return f"{_FSI}{text}{_PDI}" if text and is_rtl() else text


def _local(when: datetime) -> datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(ZoneInfo(_timezone.get()))
    except (ZoneInfoNotFoundError, ValueError):
        return when.astimezone(UTC)


def format_day(when: datetime) -> str:
    """A date in the chat's language and time zone: "6 Nov 2014", "6 нояб. 2014"."""
    return format_date(_local(when), "d MMM y", locale=_locale(_language.get()))


def format_clock(when: datetime) -> str:
    """A time of day in the chat's language and time zone ("14:05", "2:05 PM")."""
    return format_time(_local(when), "short", locale=_locale(_language.get()))


def format_number(number: int) -> str:
    """A count in the chat's language ("1,234", "1 234")."""
    return format_decimal(number, locale=_locale(_language.get()))
