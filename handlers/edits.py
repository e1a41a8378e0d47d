"""Editing a message in place after a button tap, when there may be nothing left to edit."""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

# Telegram's answers when the edit cannot or need not happen: a double tap (the message
# already shows this), or the user deleted the message, or it is too old to edit. The tap
# itself has been answered and its change made; there is nothing to tell anyone.
_MOOT = ("message is not modified", "message to edit not found", "message can't be edited")


async def edit_in_place(
    query: CallbackQuery,
    text: str,
    keyboard: InlineKeyboardMarkup | None,
    *,
    previews: bool = True,
) -> None:
    """Show ``text`` in the tapped message; an edit that is moot is not an error."""
    try:
        await query.edit_message_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard,
            disable_web_page_preview=not previews,
        )
    except BadRequest as error:
        if not any(marker in error.message.lower() for marker in _MOOT):
            raise
