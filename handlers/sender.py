"""The Telegram side of alert delivery: send one alert or digest, report what happened."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot
from telegram.request import BaseRequest, RequestData

# Not re-exported by telegram.request; python-telegram-bot is pinned below 23.
from telegram.request._requestparameter import RequestParameter

from handlers.delivery_errors import INVALID_RESPONSE, Fate, fate_of
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
# Texts rendered lately, by all they are made of (the articles, the digest mode, the
# language, the time zone, the bot's username). A paid broadcast sends one article to
# thousands of chats in a few languages; rendering it afresh for each was 4% of the sender's
# CPU (py-spy, paid bench). Bounded: emptied when full.
RENDERED_TEXTS = 512


class TelegramAlertSender:
    def __init__(
        self,
        bot: Bot,
        *,
        paid_broadcast: bool = False,
        read_timeout: float = ALERT_READ_TIMEOUT,
        locales: LocaleLookup | None = None,
        request: BaseRequest | None = None,
    ) -> None:
        """``locales``: each chat's language and time zone (without it: English, UTC).
        ``request``: what the alerts' sendMessage goes through (bot/alert_http.py's lean
        transport in production); without it, the bot's own request object."""
        self._bot = bot
        self._request = request
        self._locales = locales
        # Paid broadcasts (enabled with @BotFather) lift the 30/s ceiling, for Telegram Stars.
        self._paid_broadcast = True if paid_broadcast else None
        self._read_timeout = read_timeout
        self._rendered: dict[tuple[object, ...], str] = {}

    async def send(
        self, chat_id: int, topic: int, articles: Sequence[ArticleView], digest: str
    ) -> SendResult:
        username = self._bot.username
        try:
            locale = await self._locales(chat_id) if self._locales is not None else None
        except Exception as error:  # the database: try again later, like a network error
            return SendResult(Outcome.TRANSIENT, detail=f"{type(error).__name__}: {error}")
        spoken = locale.spoken if locale is not None else None
        language = spoken if spoken in LANGUAGES else DEFAULT_LANGUAGE
        timezone = locale.timezone if locale is not None else None
        text = self._render(articles, digest, username, language, timezone)
        token = SENDING_ALERT.set(True)
        try:
            await self._send_message(chat_id, text, topic, preview=len(articles) == 1)
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

    def _render(
        self,
        articles: Sequence[ArticleView],
        digest: str,
        username: str,
        language: str,
        timezone: str | None,
    ) -> str:
        key = (tuple(articles), digest, username, language, timezone)
        text = self._rendered.get(key)
        if text is None:
            # No update to read the language from: the chat's stored one speaks here.
            with use_language(language, timezone):
                if len(articles) == 1 and digest == "off":
                    text = render_alert(articles[0], username)
                else:
                    text = render_digest(articles, digest, username)
            if len(self._rendered) >= RENDERED_TEXTS:
                self._rendered.clear()
            self._rendered[key] = text
        return text

    async def _send_message(self, chat_id: int, text: str, topic: int, *, preview: bool) -> None:
        """``Bot.send_message`` without what an alert does not need: the same parameters on
        the wire, a request object of python-telegram-bot's kind (the bot's own, or the
        one given: its transport, timeouts, metrics, and PTB's turning of each answer into
        the error it raises), the bot's rate limiter if it has one; but no ``Message`` made
        of the answer (about a tenth of a send's CPU, the largest part of what
        python-telegram-bot adds to httpx), only its id looked for. Raises what
        ``send_message`` raises."""
        data: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": ParseMode.HTML}
        if topic:
            data["message_thread_id"] = topic
        data["link_preview_options"] = {"is_disabled": not preview}
        if self._paid_broadcast:
            data["allow_paid_broadcast"] = True
        limiter = self._bot.rate_limiter if isinstance(self._bot, ExtBot) else None
        if limiter is None:
            result = await self._post(data)
        else:
            result = await limiter.process_request(
                self._post, (data,), {}, "sendMessage", data, None
            )
        if not isinstance(result, dict) or "message_id" not in result:
            raise TelegramError(INVALID_RESPONSE)  # a 200 that is no message: may have gone

    async def _post(self, data: dict[str, Any]) -> bool | dict[str, Any] | list[dict[str, Any]]:
        request = self._request if self._request is not None else self._bot.request
        return await request.post(
            f"{self._bot.base_url}/sendMessage",
            _encoded(data),
            read_timeout=self._read_timeout,
        )


def _encoded(data: dict[str, Any]) -> RequestData:
    """The parameters encoded as python-telegram-bot encodes them (a string as it is, anything
    else as JSON), each given to it already a string."""
    return RequestData(
        [
            RequestParameter(name, value if isinstance(value, str) else json.dumps(value), None)
            for name, value in data.items()
        ]
    )


def _unsettled(chat_id: int, error: Exception) -> SendResult:
    detail = f"{type(error).__name__}: {error}"
    if not isinstance(error, TelegramError):  # not one of PTB's: worth its traceback, once
        log.warning("unexpected error sending to %s", chat_id, exc_info=error)
    if fate_of(error) is Fate.MAYBE_SENT:
        return SendResult(Outcome.MAYBE_SENT, detail=detail)
    return SendResult(Outcome.TRANSIENT, detail=detail)
