"""Did a failed Bot API request reach Telegram? What python-telegram-bot's errors tell.

python-telegram-bot raises TimedOut for every httpx timeout and NetworkError for every other
transport failure, both ``from`` the httpx exception, and NetworkError again for a 5xx
answer. Only the cause tells "never left" (no connection, no free connection in the pool)
from "left, but no readable answer came back" (read or write timeout, the connection
dropped after the request was written, a garbled reply): the second may have been delivered
and must not be repeated blindly.
"""

from __future__ import annotations

from enum import Enum

import httpx
from telegram.error import NetworkError, TelegramError, TimedOut

# What python-telegram-bot raises for a 2xx answer that is not JSON.
INVALID_RESPONSE = "Invalid server response"
# The request could not have reached Telegram.
_NEVER_LEFT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


class Fate(Enum):
    NOT_SENT = "not_sent"  # safe to send again
    ANSWERED = "answered"  # Telegram answered with an error (4xx/5xx): it did not deliver
    MAYBE_SENT = "maybe_sent"  # it may have been delivered


def fate_of(error: BaseException) -> Fate:
    """What an exception raised by a Bot API call says about its request."""
    cause = error.__cause__
    if isinstance(cause, _NEVER_LEFT):
        return Fate.NOT_SENT
    if isinstance(error, TimedOut):  # read or write timeout: the request was out
        return Fate.MAYBE_SENT
    if isinstance(error, NetworkError):
        if cause is None or isinstance(cause, TelegramError):
            return Fate.ANSWERED  # made from an error status (5xx), its body read or not
        return Fate.MAYBE_SENT  # the connection failed after it was made
    if isinstance(error, TelegramError) and error.message != INVALID_RESPONSE:
        return Fate.ANSWERED
    # A 200 whose body is not JSON, or anything raised while reading the answer.
    return Fate.MAYBE_SENT
