"""How fast one sender may make the bot work: a token bucket per sender, Telegram-free.

Telegram delivers about one message a second to a chat; a client that sends faster only
fills the bot's queue and the chat's 429s. A bucket of ``burst`` tokens refilled one per
``interval`` seconds answers a quick correction at once and a flood at Telegram's pace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import Enum

# Buckets that have refilled completely carry no state; they are forgotten past this many.
_SWEEP_ABOVE = 10_000


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    burst: int = 2  # commands admitted back to back
    interval: float = 1.0  # seconds for one more token

    @property
    def enabled(self) -> bool:
        return self.burst > 0 and self.interval > 0


class Verdict(Enum):
    ADMIT = "admit"
    WARN = "warn"  # refused, and the sender has not been told yet in this flood
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    retry_in: float = 0.0  # seconds until the next token (0 when admitted)

    @property
    def admitted(self) -> bool:
        return self.verdict is Verdict.ADMIT


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class CommandThrottle:
    """Admit, refuse, or refuse-and-warn each command of a sender (a user id or chat id)."""

    def __init__(self, policy: ThrottlePolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._buckets: dict[Hashable, _Bucket] = {}

    def check(self, sender: Hashable) -> Decision:
        """Take a token if there is one; the warning is given once until the bucket refills."""
        if not self.policy.enabled:
            return Decision(Verdict.ADMIT)
        now = self._clock()
        bucket = self._refilled(sender, now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Decision(Verdict.ADMIT)
        if bucket.warned:
            return Decision(Verdict.REFUSE, self._wait(bucket))
        # The notice is a message to the chat too: it costs a token, which may be borrowed.
        bucket.warned = True
        bucket.tokens -= 1
        return Decision(Verdict.WARN, self._wait(bucket))

    def _wait(self, bucket: _Bucket) -> float:
        return (1 - bucket.tokens) * self.policy.interval

    def _refilled(self, sender: Hashable, now: float) -> _Bucket:
        burst = float(self.policy.burst)
        bucket = self._buckets.get(sender)
        if bucket is None:
            if len(self._buckets) >= _SWEEP_ABOVE:
                self._sweep(now)
            bucket = self._buckets[sender] = _Bucket(tokens=burst, at=now)
            return bucket
        elapsed = max(0.0, now - bucket.at)
        bucket.tokens = min(burst, bucket.tokens + elapsed / self.policy.interval)
        bucket.at = now
        if bucket.tokens >= burst:
            bucket.warned = False  # the flood is over: the next one is told again
        return bucket

    def _sweep(self, now: float) -> None:
        interval, burst = self.policy.interval, self.policy.burst
        self._buckets = {
            sender: bucket
            for sender, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) / interval < burst
        }
