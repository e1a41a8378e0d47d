"""The Telegram side of alert delivery: send one alert or digest, report what happened."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from handlers.delivery_errors import Fate, fate_of
from handlers.i18n import DEFAULT_LANGUAGE, LANGUAGES, use_language
from handlers.pacing import SENDING_ALERT
from handlers.render_alerts import render_alert, render_digest
from services.alerts.delivery import Outcome, SendResult
from services.articles import ArticleView
from services.languages import ChatLocale

log = logging.getLogger(__name__)
_TOPIC_GONE = ("message thread not found", "topic_deleted", "topic_closed", "topic not found")
_CHAT_GONE = (
    "chat not found",
    "group chat was deactivated",
    "have no rights to send",
    "not enough rights",
)
# Telegram slows down under load; an answer that takes longer than this is given up on (and
# the alert counts as "may have arrived"). PTB's default of 5 s gave up on answers that came.
ALERT_READ_TIMEOUT = 30.0
# Reads a chat's stored language and time zone (LanguageService.chat_locale).
LocaleLookup = Callable[[int], Awaitable[ChatLocale]]


class TelegramAlertSender:
    def __init__(
        self,
        bot: Bot,
        *,
        paid_broadcast: bool = False,
        read_timeout: float = ALERT_READ_TIMEOUT,
        locales: LocaleLookup | None = None,
    ) -> None:
        """``locales``: each chat's language and time zone (without it: English, UTC)."""
        self._bot = bot
        self._locales = locales
        # Paid broadcasts (enabled with @BotFather) lift the 30/s ceiling, for Telegram Stars.
        self._paid_broadcast = True if paid_broadcast else None
        self._read_timeout = read_timeout

    async def send(
        self, chat_id: int, topic: int, articles: Sequence[ArticleView], digest: str
    ) -> SendResult:
        username = self._bot.username
        try:
            locale = await self._locales(chat_id) if self._locales is not None else None
        except Exception as error:  # the database: try again later, like a network error
            return SendResult(Outcome.TRANSIENT, detail=f"{type(error).__name__}: {error}")
        spoken = locale.spoken if locale is not None else None
        # No update to read the language from: the chat's stored one speaks here.
        with use_language(
            spoken if spoken in LANGUAGES else DEFAULT_LANGUAGE,
            locale.timezone if locale is not None else None,
        ):
            if len(articles) == 1 and digest == "off":
                text = render_alert(articles[0], username)
            else:
                text = render_digest(articles, digest, username)
        token = SENDING_ALERT.set(True)
        try:
            await self._bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                message_thread_id=topic or None,
                link_preview_options=LinkPreviewOptions(is_disabled=len(articles) > 1),
                allow_paid_broadcast=self._paid_broadcast,
                read_timeout=self._read_timeout,
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
        except Exception as error:  # whatever it was, what it says about the request decides
            return _unsettled(chat_id, error)
        finally:
            SENDING_ALERT.reset(token)
        return SendResult(Outcome.SENT)


def _unsettled(chat_id: int, error: Exception) -> SendResult:
    detail = f"{type(error).__name__}: {error}"
    if not isinstance(error, TelegramError):  # not one of PTB's: worth its traceback, once
        log.warning("unexpected error sending to %s", chat_id, exc_info=error)
    if fate_of(error) is Fate.MAYBE_SENT:
        return SendResult(Outcome.MAYBE_SENT, detail=detail)
    return SendResult(Outcome.TRANSIENT, detail=detail)
