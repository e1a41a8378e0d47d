"""The language of each update, /language and its buttons.

An early handler group picks the update's language once, before any other handler runs:
the chat's choice made with /language, else (in a private chat, or an inline query) the
user's Telegram ``language_code`` when a catalog matches it, else English. It is kept in a
context variable (handlers/i18n.py) that python-telegram-bot's per-update task keeps apart.
"""

from __future__ import annotations

import logging
import re
from html import escape

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.channels import answer, chat_ref_of, resolve_target
from handlers.context import NewsContext
from handlers.edits import edit_in_place
from handlers.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    _,
    bidi,
    current_language,
    language_name,
    negotiate,
    set_language,
)
from handlers.permissions import may_change
from services.languages import DEFAULT_TIMEZONE, ChatLocale
from storage.db import describe, storage_fault

log = logging.getLogger(__name__)

LANGUAGE_PREFIX = "lang"
_LANGUAGE_DATA = re.compile(r"lang:([A-Za-z_]{2,8})")


async def choose_language(update: Update, context: NewsContext) -> None:
    """The early group's handler: speak the update's language from here on."""
    chat, user = update.effective_chat, update.effective_user
    timezone = DEFAULT_TIMEZONE
    stored: ChatLocale | None = None
    if chat is not None:
        try:
            stored = await context.services.languages.chat_locale(chat.id)
        except Exception as error:
            if storage_fault(error) is None:
                raise
            # The handlers that need the database will apologise; this one need not too.
            log.warning("could not read chat %s's language: %s", chat.id, describe(error))
            stored = None
        else:
            timezone = stored.timezone
            if stored.language is not None and stored.language in LANGUAGES:
                set_language(stored.language, timezone)
                return
    personal = chat is None or chat.type == Chat.PRIVATE  # inline queries have no chat
    code = negotiate(user.language_code) if personal and user is not None else None
    set_language(code or DEFAULT_LANGUAGE, timezone)
    if (
        chat is not None
        and code is not None
        and stored is not None
        and stored.known
        and stored.user_language != code
    ):
        # Alerts to this chat speak it too (the sender has no update to read it from).
        await context.services.languages.remember_user_language(chat.id, code)


def language_keyboard() -> InlineKeyboardMarkup:
    """Each language by its own name, two to a row."""
    buttons = [
        InlineKeyboardButton(language_name(code), callback_data=f"{LANGUAGE_PREFIX}:{code}")
        for code in LANGUAGES
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def parse_language_callback(data: str) -> str | None:
    match = _LANGUAGE_DATA.fullmatch(data)
    if match is None or match.group(1) not in LANGUAGES:
        return None
    return match.group(1)


def _codes() -> str:
    return ", ".join(f"<code>{code}</code>" for code in LANGUAGES)


def _spoken(code: str, where: str = "") -> str:
    """The confirmation that the chat (``where``, "" for this one) now speaks ``code``."""
    name = bidi(language_name(code, capitalised=False))
    if where:
        return _("Done: I speak {language} in {where} now.").format(language=name, where=where)
    return _("Done: I speak {language} in this chat now.").format(language=name)


async def cmd_language(update: Update, context: NewsContext) -> None:
    """/language: the choice as buttons; /language CODE: set it (administrators in groups)."""
    target = await resolve_target(update, context)
    if target is None:
        return
    if not target.args:
        name = bidi(language_name(current_language(), capitalised=False))
        if target.remote:
            text = _("Send <code>/language {handle}CODE</code>, one of {codes}.").format(
                handle=escape(target.handle), codes=_codes()
            )
            await answer(update, context, text)
            return
        text = _("I speak {language} here. Choose a language:").format(language=name)
        await answer(update, context, text, reply_markup=language_keyboard())
        return
    code = negotiate(target.args[0]) if len(target.args) == 1 else None
    if code is None:
        shown = bidi(escape(" ".join(target.args)[:32]))
        text = _("I don't speak “{code}”. Send /language and pick one of {codes}.").format(
            code=shown, codes=_codes()
        )
        await answer(update, context, text)
        return
    if not (target.verified or await may_change(update, context)):
        await answer(update, context, _("Only this chat's administrators can change its language."))
        return
    locale = await context.services.languages.set_language(target.chat, code)
    if not target.remote:
        set_language(code, locale.timezone)  # the rest of this update speaks it too
        await answer(update, context, _spoken(code))  # in the language just chosen
        return
    await answer(update, context, _spoken(code, target.where))  # in this chat's language


async def on_language_button(update: Update, context: NewsContext) -> None:
    """A tap on one of /language's buttons."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    code = parse_language_callback(query.data or "")
    if code is None:
        await query.answer(_("This button is not valid."))
        return
    if not await may_change(update, context):
        await query.answer(
            _("Only this chat's administrators can change its language."), show_alert=True
        )
        return
    locale = await context.services.languages.set_language(chat_ref_of(chat), code)
    set_language(code, locale.timezone)
    await query.answer()
    await edit_in_place(query, _spoken(code), None)
