"""Every Bot API call of the bot passes here (PTB's rate-limiter hook): a reply that Telegram
answers with RetryAfter is sent again once the wait is over, and each chat's messages,
replies and alerts alike, are counted together so an alert waits for a reply that just went.

In this process that is ChatWindows; for an alert sender in another process (a worker, or
another webhook replica leading), each reply is also written to the database's record of
what went to the chat lately, alongside the request (it never delays the reply).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, Protocol

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from services.alerts.ratelimit import ChatWindows

log = logging.getLogger(__name__)

# Set by the alert sender around its call: alerts wait for the chat's limits here, and a
# RetryAfter goes back to the sender (which re-queues the alert) instead of being waited out.
SENDING_ALERT: ContextVar[bool] = ContextVar("sending_alert", default=False)
MAX_RETRIES = 2
MAX_WAIT_SECONDS = 60.0  # a reply Telegram holds back longer than this is given up


RECORD_WAIT_SECONDS = 5.0  # on detaching, replies still being recorded get this long


class ReplyRecorder(Protocol):
    def record(self, chat_id: int) -> Coroutine[Any, Any, bool]:
        """Takes the moment at once; the returned write is awaited in the background."""
        ...


class ChatPacer(BaseRateLimiter[None]):
    def __init__(
        self,
        *,
        windows: ChatWindows | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_retries: int = MAX_RETRIES,
        max_wait: float = MAX_WAIT_SECONDS,
    ) -> None:
        self._windows = windows or ChatWindows()
        self._sleep = sleep
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._recorder: ReplyRecorder | None = None
        self._recording: set[asyncio.Task[None]] = set()
        self._failing = False  # the last record failed: logged once, not per reply

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close (the recorder is detached before its database closes)."""

    def attach(self, recorder: ReplyRecorder) -> None:
        """From now on, replies are also recorded for alert senders in other processes."""
        self._recorder = recorder

    async def detach(self) -> None:
        """Stop recording replies; the ones under way finish first (for a few seconds)."""
        self._recorder = None
        await self.recorded()

    async def recorded(self) -> None:
        """Wait (a few seconds at most) until the replies sent so far are recorded."""
        if self._recording:
            await asyncio.wait(set(self._recording), timeout=RECORD_WAIT_SECONDS)

    def _record_elsewhere(self, chat_id: int) -> None:
        if self._recorder is None:
            return
        task = asyncio.create_task(self._record(self._recorder.record(chat_id)))
        self._recording.add(task)
        task.add_done_callback(self._recording.discard)

    async def _record(self, write: Coroutine[Any, Any, bool]) -> None:
        try:
            await write
        except Exception as error:
            # The reply goes anyway: an alert may then follow it within the chat's limits'
            # span (at worst, Telegram answers that alert RetryAfter and it is sent later).
            if not self._failing:
                log.warning("could not record a reply for the alert sender: %s", error)
            self._failing = True
        else:
            if self._failing:
                log.info("recording replies for the alert sender works again")
            self._failing = False

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = _message_chat(endpoint, data)
        alert = SENDING_ALERT.get()
        if chat_id is not None:
            if alert:
                await self._windows.acquire(chat_id)
            else:  # a user waits for this one: it goes now, and counts
                self._windows.record(chat_id)
                self._record_elsewhere(chat_id)
        retries = 0
        while True:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:  # Telegram did not deliver it: safe to send again
                wait = _seconds(error.retry_after)
                if alert or retries >= self._max_retries or wait > self._max_wait:
                    raise
                retries += 1
                log.info("Telegram asked to wait %.0f s before %s; waiting", wait, endpoint)
                await self._sleep(wait)


def _message_chat(endpoint: str, data: dict[str, Any]) -> int | None:
    """The chat a new message goes to (what Telegram's per-chat limits count), if any."""
    name = endpoint.lower()
    if not name.startswith(("send", "copymessage", "forwardmessage")) or name == "sendchataction":
        return None
    chat_id = data.get("chat_id")
    return chat_id if isinstance(chat_id, int) else None


def _seconds(wait: int | timedelta) -> float:
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
