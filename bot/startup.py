"""Reaching Telegram at start-up: retry like a service, fail in one line an operator can act on."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from telegram import Bot
from telegram.error import (
    BadRequest,
    Conflict,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)

T = TypeVar("T")
TELEGRAM_BASE_URL = "https://api.telegram.org/bot"  # python-telegram-bot's default
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 60.0


class TokenRefused(SettingsError):
    """Telegram answered 401/404 to getMe: the token is wrong, revoked or malformed."""

    def __init__(self, address: str) -> None:
        super().__init__(
            f"Telegram ({address}) refused the bot token: get one from @BotFather "
            "(https://t.me/BotFather, /newbot or /token) and set TELEGRAM_BOT_TOKEN to it."
        )


def telegram_address(settings: Settings) -> str:
    """Where the Bot API lives, as scheme://host[:port]: never the token, never a password."""
    parts = urlsplit(settings.telegram_api_base_url or TELEGRAM_BASE_URL)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def describe(error: TelegramError, settings: Settings) -> str:
    """The cause of a failed Bot API call in a few words (python-telegram-bot's own text)."""
    if isinstance(error, TimedOut):
        return f"no answer within {settings.telegram_timeout:g} s (TELEGRAM_TIMEOUT)"
    if isinstance(error, Conflict) and "webhook" in error.message.lower():
        return f"409 Conflict: a webhook is set for this bot token ({error.message})"
    if isinstance(error, Conflict):
        return (
            "409 Conflict: another process is polling Telegram with this bot token; stop it, "
            f"or give this one its own token ({error.message})"
        )
    return error.message


async def keep_trying(
    action: Callable[[], Awaitable[T]],
    *,
    what: str,
    settings: Settings,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run a start-up Bot API call until it succeeds: one warning per failed attempt, waits
    doubling from a second up to a minute. A refused token is final: TokenRefused."""
    address = telegram_address(settings)
    delay = FIRST_RETRY_SECONDS
    for attempt in itertools.count(1):
        try:
            return await action()
        except InvalidToken:
            # python-telegram-bot's message quotes the token itself: never show it.
            raise TokenRefused(address) from None
        except BadRequest:
            raise  # a NetworkError to python-telegram-bot, but asking again will not help
        except RetryAfter as error:
            wait = error.retry_after
            pause = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            cause = f"429 Too Many Requests, asked to wait {pause:g} s"
        except (NetworkError, Conflict) as error:
            pause, delay = delay, min(delay * 2, MAX_RETRY_SECONDS)
            cause = describe(error, settings)
        log.warning(
            "Telegram at %s: %s failed (attempt %d): %s; trying again in %g s",
            address,
            what,
            attempt,
            cause,
            pause,
        )
        await sleep(pause)
    raise AssertionError("unreachable")  # itertools.count never ends


async def connect(bot: Bot, settings: Settings, stop: asyncio.Event) -> bool:
    """Initialize the bot (getMe) until Telegram answers: True, or False if ``stop`` came first."""
    trying = asyncio.ensure_future(keep_trying(bot.initialize, what="getMe", settings=settings))
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({trying, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if trying.done():
        trying.result()  # TokenRefused ends it here
        return True
    trying.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await trying
    return False


def polling_error_callback(settings: Settings) -> Callable[[TelegramError], None]:
    """For Updater.start_polling: one line per failed getUpdates instead of a traceback.

    python-telegram-bot retries on its own (waits growing to 30 s; timeouts retry at once)."""
    address = telegram_address(settings)

    def on_error(error: TelegramError) -> None:
        cause = describe(error, settings)
        log.warning("Telegram at %s: getUpdates failed: %s; trying again", address, cause)

    return on_error


async def start_then_wait(
    start: Awaitable[object], stop: asyncio.Event, *, started: Callable[[], None]
) -> bool:
    """Run the start-up steps, call ``started``, then wait for ``stop``; True when it got
    that far (started, then stopped).

    ``stop`` may come at any moment, also while start-up is still waiting for Telegram: the
    start-up is cancelled then, and False returned. A start-up that fails (TokenRefused and
    the like) raises here and ends the run. The caller shuts down either way.
    """
    starting = asyncio.ensure_future(start)
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            return False
        starting.result()
        started()
        await stopping
        return True
    finally:
        stopping.cancel()
        if not starting.done():
            starting.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await starting  # its outcome was handled above; only let it finish
