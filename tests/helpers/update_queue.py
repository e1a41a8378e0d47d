"""getUpdates semantics: offsets confirm, long polls wait across threads, a newer poll wins."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import threading
from collections.abc import Mapping
from typing import Any

from tests.helpers.botapi_rules import ApiError
from tests.helpers.tg_objects import JSON

# Without an explicit allowed_updates Telegram withholds these three update types.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)

Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[str]"]


def update_kind(update: Mapping[str, Any]) -> str:
    """The payload field of an Update ("message", "callback_query", ...)."""
    return next(key for key in update if key != "update_id")


def _resolve(waiter: Waiter, reason: str) -> None:
    loop, future = waiter

    def settle() -> None:
        if not future.done():
            future.set_result(reason)

    with contextlib.suppress(RuntimeError):  # that poller's event loop is already closed
        loop.call_soon_threadsafe(settle)


class UpdateQueue:
    """Pending updates plus the long polls waiting for them; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[JSON] = []
        self._last_id = 0
        self._allowed: frozenset[str] | None = None
        self._pollers: list[Waiter] = []

    def push(self, update: Mapping[str, Any]) -> int:
        """Queue an Update and wake waiting polls; update ids must increase."""
        update_id = update.get("update_id")
        if not isinstance(update_id, int) or len(update) != 2:
            raise ValueError("an Update needs an int update_id and exactly one payload field")
        with self._lock:
            if update_id <= self._last_id:
                raise ValueError(f"update_id {update_id} is not above {self._last_id}")
            self._last_id = update_id
            self._queue.append(copy.deepcopy(dict(update)))
            pollers, self._pollers = self._pollers, []
        for waiter in pollers:
            _resolve(waiter, "update")
        return update_id

    def pending(self) -> list[JSON]:
        """Updates not yet confirmed."""
        with self._lock:
            return copy.deepcopy(self._queue)

    def clear(self) -> None:
        """Drop every pending update (deleteWebhook/setWebhook drop_pending_updates)."""
        with self._lock:
            self._queue.clear()

    def active_polls(self) -> int:
        """How many long polls are waiting."""
        with self._lock:
            return len(self._pollers)

    def release(self) -> None:
        """Make every waiting long poll answer now."""
        with self._lock:
            pollers, self._pollers = self._pollers, []
        for waiter in pollers:
            _resolve(waiter, "release")

    async def poll(self, params: Mapping[str, Any]) -> list[JSON]:
        """Answer getUpdates(offset, limit, timeout, allowed_updates); 409 if superseded."""
        limit = params.get("limit", 100)
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout", 0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (float(timeout) if isinstance(timeout, int | float) else 0.0)
        with self._lock:
            self._confirm(params.get("offset"), params.get("allowed_updates"))
            # Telegram ends an older long poll when a new one arrives.
            older, self._pollers = self._pollers, []
        for stale in older:
            _resolve(stale, "conflict")
        while True:
            with self._lock:
                ready = self._deliverable(limit)
                remaining = deadline - loop.time()
                if ready or remaining <= 0:
                    return ready
                waiter: Waiter = (loop, loop.create_future())
                self._pollers.append(waiter)
            try:
                reason = await asyncio.wait_for(waiter[1], remaining)
            except TimeoutError:
                reason = "timeout"
            finally:
                with self._lock:
                    if waiter in self._pollers:
                        self._pollers.remove(waiter)
            if reason == "conflict":
                raise ApiError(409, POLL_CONFLICT)
            if reason == "release":
                deadline = loop.time()

    def _confirm(self, offset: Any, allowed_updates: Any) -> None:
        if isinstance(offset, int) and offset > 0:
            self._queue = [u for u in self._queue if u["update_id"] >= offset]
        elif isinstance(offset, int) and offset < 0:
            self._queue = self._queue[offset:]  # "all previous updates will be forgotten"
        if isinstance(allowed_updates, list):
            self._allowed = frozenset(allowed_updates) if allowed_updates else None

    def _deliverable(self, limit: int) -> list[JSON]:
        """The first `limit` queued updates of allowed types; disallowed ones are dropped."""

        def allowed(update: JSON) -> bool:
            kind = update_kind(update)
            if self._allowed is None:
                return kind not in _OPT_IN_UPDATES
            return kind in self._allowed

        self._queue = [u for u in self._queue if allowed(u)]
        return copy.deepcopy(self._queue[:limit])
