"""The last line of defence: log the traceback, tell the user only that we are sorry."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from handlers.context import NewsContext
from handlers.render import SORRY

log = logging.getLogger(__name__)


async def on_error(update: object, context: NewsContext) -> None:
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(SORRY, show_alert=True)
        except TelegramError:
            log.warning("could not tell the user about the error", exc_info=True)
        return
    message = update.effective_message
    if message is None:
        return
    try:
        await message.reply_text(SORRY, do_quote=False)
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)
