"""Reading the article event log in order, across holes left by open transactions."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

# A hole in the event sequence is a transaction that has not committed yet (PostgreSQL hands
# out sequence numbers before commit) or one that rolled back. Wait this long for it.
GAP_PATIENCE_SECONDS = 10.0


class GapTracker:
    """Decides how far a reader's watermark may move past the events it has seen."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._first_seen: dict[int, float] = {}

    def advance(self, watermark: int, seqs: Sequence[int]) -> int:
        """The highest seq up to which every event has been seen (or given up on)."""
        expected = watermark + 1
        now = self._clock()
        for seq in seqs:
            if seq != expected:
                first_seen = self._first_seen.setdefault(expected, now)
                if now - first_seen < GAP_PATIENCE_SECONDS:
                    break
                log.warning("article events %d..%d never appeared", expected, seq - 1)
                self._first_seen.pop(expected, None)
            expected = seq + 1
        return expected - 1
