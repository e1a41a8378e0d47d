"""The last line of defence: log the traceback, tell the user only that we are sorry."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from handlers.context import NewsContext
from handlers.delivery_errors import Fate, fate_of
from handlers.i18n import _
from handlers.render import SORRY, UNAVAILABLE
from storage.db import describe, storage_fault

log = logging.getLogger(__name__)


async def on_error(update: object, context: NewsContext) -> None:
    error = context.error
    if isinstance(error, TelegramError) and fate_of(error) is Fate.MAYBE_SENT:
        # A reply timed out or came back unreadable: it may well have been delivered, and an
        # apology after it would be wrong (and may time out too). One line, no traceback.
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            log.warning(
                "a Bot API call may have gone through, but its answer could not be read (%s)", error
            )
        else:
            log.warning(
                "a reply to chat %s may have arrived, but Telegram's answer could not be read "
                "(%s); no apology sent",
                chat.id,
                error,
            )
        return
    fault = storage_fault(error) if error is not None else None
    if error is not None and fault is not None:
        # A database restart or a busy or full disk: expected now and then, and no bug.
        log.warning("could not answer an update: the database is %s (%s)", fault, describe(error))
    else:
        log.error("error while handling an update", exc_info=error)
    if not isinstance(update, Update):
        return
    apology = _(SORRY if fault is None else UNAVAILABLE)
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(apology, show_alert=True)
        except TelegramError:
            log.warning("could not tell the user about the error", exc_info=True)
        return
    message = update.effective_message
    if message is None:
        return
    try:
        await message.reply_text(apology, do_quote=False)
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)
