"""Sliding-window flood control modelled on Telegram's documented sendMessage limits."""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimits:
    """Telegram's broadcast limits: 30 msg/s overall, 20 msg/min per group, 1 msg/s per chat."""

    global_per_second: int = 30
    group_per_minute: int = 20
    chat_per_second: int = 1


class ManualClock:
    """An injectable clock for deterministic rate-limit tests."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


class SendRateLimiter:
    """Admits a send if every window it falls in has room; rejected sends are not counted."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self._limits = limits
        self._clock = clock
        self._global: deque[float] = deque()
        self._per_chat: defaultdict[int | str, deque[float]] = defaultdict(deque)
        self._per_group: defaultdict[int | str, deque[float]] = defaultdict(deque)

    def acquire(self, chat_id: int | str, *, is_group: bool) -> int | None:
        """Record a send to chat_id now, or return Telegram's retry_after in whole seconds."""
        now = self._clock()
        windows = [
            (self._global, 1.0, self._limits.global_per_second),
            (self._per_chat[chat_id], 1.0, self._limits.chat_per_second),
        ]
        if is_group:
            windows.append((self._per_group[chat_id], 60.0, self._limits.group_per_minute))
        wait = 0.0
        for stamps, span, cap in windows:
            while stamps and stamps[0] <= now - span:
                stamps.popleft()
            if len(stamps) >= cap:
                # Room appears when the oldest stamp that keeps this window full expires.
                wait = max(wait, stamps[len(stamps) - cap] + span - now)
        if wait > 0:
            return max(1, math.ceil(wait))
        for stamps, _, _ in windows:
            stamps.append(now)
        return None
