"""The Telegram side of alert delivery: send one alert or digest, report what happened."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from handlers.render_alerts import render_alert, render_digest
from services.alerts.delivery import Outcome, SendResult
from services.articles import ArticleView

log = logging.getLogger(__name__)
_TOPIC_GONE = ("message thread not found", "topic_deleted", "topic_closed", "topic not found")
_CHAT_GONE = (
    "chat not found",
    "group chat was deactivated",
    "have no rights to send",
    "not enough rights",
)


class TelegramAlertSender:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def send(
        self, chat_id: int, topic: int, articles: Sequence[ArticleView], digest: str
    ) -> SendResult:
        username = self._bot.username
        if len(articles) == 1 and digest == "off":
            text = render_alert(articles[0], username)
        else:
            text = render_digest(articles, digest, username)
        try:
            await self._bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                message_thread_id=topic or None,
                link_preview_options=LinkPreviewOptions(is_disabled=len(articles) > 1),
            )
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            return SendResult(Outcome.RETRY_AFTER, retry_after=seconds, detail=str(error))
        except ChatMigrated as error:
            return SendResult(Outcome.MIGRATED, new_chat_id=error.new_chat_id, detail=str(error))
        except Forbidden as error:
            return SendResult(Outcome.CHAT_GONE, detail=str(error))
        except BadRequest as error:
            message = error.message.lower()
            if any(marker in message for marker in _TOPIC_GONE):
                return SendResult(Outcome.TOPIC_GONE, detail=str(error))
            if any(marker in message for marker in _CHAT_GONE):
                return SendResult(Outcome.CHAT_GONE, detail=str(error))
            return SendResult(Outcome.PERMANENT, detail=str(error))
        except NetworkError as error:  # includes TimedOut
            return SendResult(Outcome.TRANSIENT, detail=str(error))
        except TelegramError as error:
            log.warning("unexpected Telegram error sending to %s", chat_id, exc_info=True)
            return SendResult(Outcome.TRANSIENT, detail=str(error))
        return SendResult(Outcome.SENT)
