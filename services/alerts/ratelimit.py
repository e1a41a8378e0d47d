"""A token bucket: Telegram allows about 30 messages a second across all chats."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

# Half a token of slack for the alert sender. A wake-up that comes late (the event loop
# overshoots a sleep by a millisecond or so) then keeps its credit; with a cap of exactly one
# it is lost on every message, and 29/s becomes 28/s. Any one second still holds at most
# rate + 1.5 sends: 30 at the default 29/s.
SEND_BURST = 1.5


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; ``acquire`` waits for one."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._updated = clock()
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        """Hand out nothing for a while (Telegram said RetryAfter)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._tokens = 0.0

    async def acquire(self) -> None:
        while True:
            now = self._clock()
            if now < self._paused_until:
                await self._sleep(self._paused_until - now)
                self._updated = self._clock()
                continue
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await self._sleep((1 - self._tokens) / self._rate)
