"""Send pacing: Telegram allows about 30 messages a second across all chats."""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

# Half a token of slack for the alert sender. A wake-up that comes late (the event loop
# overshoots a sleep by a millisecond or so) then keeps its credit; with a cap of exactly one
# it is lost on every message, and 29/s becomes 28/s. Any one second still holds at most
# rate + 1.5 sends: 30 at the default 29/s.
SEND_BURST = 1.5
# Telegram's documented ceiling for one bot, all chats together.
TELEGRAM_MESSAGES_PER_SECOND = 30
MIN_ROUND_TRIPS = 8  # answers seen before the window trusts their quickest round trip


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
            if self._tokens >= 1 - 1e-9:  # a sleep of exactly the deficit may round just short
                self._tokens = max(0.0, self._tokens - 1)
                return
            await self._sleep((1 - self._tokens) / self._rate)


class SendWindow:
    """At most ``limit`` sends in any ``span`` seconds, as the server sees them.

    Telegram counts a message when it arrives, somewhere between our request and its answer;
    a token bucket counts it when we ask. Counting each send from its start until ``span``
    after its answer bounds every arrival-time window whatever the network does, but at a
    round trip of 250 ms it also caps the rate at 30 / 1.25 = 24 a second. So the part of the
    round trip that every recent request took (the smallest one seen lately, the plain
    distance to the server) is taken off again: a send occupies the window from its start
    until ``span`` after its answer less that smallest round trip. At a steady latency that
    is one second from each request's start, however far away Telegram is; a request that
    crawls (and may arrive late, bunched with later ones) holds its place for longer.
    This bounds arrivals as long as each way takes at least half the quickest round trip,
    which is why round trips are measured from when the request leaves (``finish``'s
    ``left``), not from ``start``: the sender's "sending" commit in between is no part of
    either way. ``margin`` of that round trip is kept for the jitter of the sender's own
    event loop, so on a nearby server (a round trip of a few milliseconds) nothing is taken
    off at all.
    """

    def __init__(
        self,
        limit: int = 30,
        *,
        span: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        history: int = 64,
        margin: float = 0.02,
    ) -> None:
        if limit < 1 or span <= 0:
            raise ValueError("limit must be at least 1 and span positive")
        self._limit = limit
        self._span = span
        self._clock = clock
        self._sleep = sleep
        self._until: list[float] = []  # a heap: when each finished send leaves the window
        self._round_trips: deque[float] = deque(maxlen=history)
        self._in_flight = 0
        self._margin = margin

    async def start(self) -> float:
        """Wait for room, then count a send as in flight until ``finish``; returns its start."""
        while True:
            now = self._clock()
            while self._until and self._until[0] <= now:
                heapq.heappop(self._until)
            if self._in_flight + len(self._until) < self._limit:
                self._in_flight += 1
                return now
            if self._until:
                # At least a millisecond: float rounding could otherwise spin on a 1e-16 wait.
                await self._sleep(max(0.001, self._until[0] - now))
            else:  # every slot is in flight: check again shortly
                await self._sleep(self._span / self._limit)

    def finish(self, started: float, left: float | None = None) -> None:
        """The send that ``start`` returned ``started`` for got its answer (any kind) now;
        ``left``: when its request actually left, if later (after the sender's commit).

        The round trip is measured from ``left``: from ``started`` it would include the
        commit, and while every commit is slow (a busy database, just after a restart) the
        quickest "round trip" would exceed the network's and too much would be taken off;
        once commits are quick again, a second would hold more than ``limit`` arrivals.
        """
        now = self._clock()
        self._in_flight = max(0, self._in_flight - 1)
        self._round_trips.append(max(0.0, now - max(started, left or started)))
        # Until a few round trips are known, their floor is not: nothing is taken off.
        floor = min(self._round_trips) if len(self._round_trips) >= MIN_ROUND_TRIPS else 0.0
        heapq.heappush(self._until, now + self._span - max(0.0, floor - self._margin))


# Telegram's per-chat limits: one message a second to any chat, twenty a minute to a group
# or channel (negative ids).
CHAT_LIMITS = ((1.0, 1), (60.0, 20))
CHAT_MEMORY_SECONDS = 60.0  # the longest span a per-chat limit counts


def chat_wait(chat_id: int, stamps: Sequence[float], now: float) -> float:
    """Seconds until one more message to this chat keeps within its limits (0: now), given
    when its recent messages went (oldest first, on the clock ``now`` is read from)."""
    # A stamp from the future (another machine's clock running ahead) counts as now: a skew
    # must never hold a chat back for longer than the limit's own span.
    stamps = [min(t, now) for t in stamps]
    wait = 0.0
    for span, cap in CHAT_LIMITS if chat_id < 0 else CHAT_LIMITS[:1]:
        recent = [t for t in stamps if t > now - span]
        if len(recent) >= cap:
            wait = max(wait, recent[len(recent) - cap] + span - now)
    return wait


class ChatWindows:
    """Telegram's per-chat limits in one process: one message a second to any chat, twenty a
    minute to a group or channel (negative ids). Replies and alerts are recorded together.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._sent: dict[int, deque[float]] = {}
        self._next_prune = 0.0

    def wait_for(self, chat_id: int) -> float:
        """Seconds until one more message to this chat keeps within its limits (0: now)."""
        now = self._clock()
        stamps = self._sent.get(chat_id)
        if not stamps:
            return 0.0
        while stamps and stamps[0] <= now - CHAT_MEMORY_SECONDS:
            stamps.popleft()
        return chat_wait(chat_id, stamps, now)

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to this chat keeps within its limits, then record it."""
        while (wait := self.wait_for(chat_id)) > 0:
            await self._sleep(wait)
        self.record(chat_id)

    def record(self, chat_id: int) -> None:
        """Count a message to this chat now (one that went without waiting)."""
        now = self._clock()
        # Forget chats with nothing in the last minute, at most once a minute: with more
        # than 10,000 chats active (a broadcast), pruning on every send cost a full copy each.
        if len(self._sent) > 10_000 and now >= self._next_prune:
            cutoff = now - CHAT_MEMORY_SECONDS
            self._sent = {c: s for c, s in self._sent.items() if s and s[-1] > cutoff}
            self._next_prune = now + CHAT_MEMORY_SECONDS
        self._sent.setdefault(chat_id, deque()).append(now)
