"""Liveness and readiness of one process, and the metrics read from the shared database.

Ready means: the database answers, and this process's search index holds every article
stored more than READY_LAG_SECONDS ago (so a replica that is still catching up, or whose
index stopped following, is taken out of rotation).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.metrics import Metrics
from bot.runtime import utc_now
from storage.search_index import SearchIndex
from storage.stats import last_event_seq, outbox_stats

log = logging.getLogger(__name__)

READY_LAG_SECONDS = 5.0
SAMPLE_SECONDS = 1.0
DB_TIMEOUT_SECONDS = 2.0
# The event loop counts as stuck when the heartbeat is older than this.
STUCK_SECONDS = 10.0
_HISTORY = 64  # samples kept: a minute at one a second, far more than READY_LAG_SECONDS


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    reason: str


class HealthMonitor:
    """Samples the newest article event once a second and judges readiness from it."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._metrics = metrics
        self._monotonic = monotonic
        self._clock = clock
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._index: SearchIndex | None = None
        self._heads: deque[tuple[float, int]] = deque(maxlen=_HISTORY)
        self._db_answered_at: float | None = None
        self._db_failing = False
        self._heartbeat = monotonic()
        self._stopping = False

    @property
    def metrics(self) -> Metrics:
        return self._metrics

    def attach(self, sessions: async_sessionmaker[AsyncSession], index: SearchIndex) -> None:
        """The database and the index are open: readiness can now be judged."""
        self._sessions, self._index = sessions, index

    def detach(self) -> None:
        self._sessions = self._index = None

    def stopping(self) -> None:
        """From now on readiness says no: the process is shutting down."""
        self._stopping = True

    def alive(self) -> bool:
        """Whether the event loop keeps turning (the heartbeat task ran recently)."""
        return self._monotonic() - self._heartbeat < STUCK_SECONDS

    async def run(self, stop: asyncio.Event) -> None:
        """Beat and sample until stop is set."""
        while not stop.is_set():
            self._heartbeat = self._monotonic()
            await self.sample()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_SECONDS)

    async def sample(self) -> None:
        """Read the newest article event (and so learn that the database answers)."""
        sessions, index = self._sessions, self._index
        if sessions is None or index is None:
            return
        try:
            async with asyncio.timeout(DB_TIMEOUT_SECONDS), sessions() as session:
                head = await last_event_seq(session)
        except Exception as error:  # any failure here means "not ready", never a crash
            if not self._db_failing:  # one line when it starts failing, not one a second
                log.warning("readiness: the database did not answer: %s", type(error).__name__)
            self._db_failing = True
            return
        if self._db_failing:
            log.info("readiness: the database answers again")
        self._db_failing = False
        now = self._monotonic()
        self._db_answered_at = now
        self._heads.append((now, head))
        self._metrics.index_lag.set(max(0, head - index.watermark))

    def readiness(self) -> Readiness:
        """Judged from the samples taken so far; call sample() first for a fresh answer."""
        if self._stopping:
            return Readiness(False, "shutting down")
        if self._index is None:
            return Readiness(False, "starting")
        now = self._monotonic()
        if self._db_answered_at is None or now - self._db_answered_at > DB_TIMEOUT_SECONDS + 1:
            return Readiness(False, "database not answering")
        watermark = self._index.watermark
        latest = self._heads[-1][1]
        # Behind the newest event is normal while articles arrive; behind what was stored
        # READY_LAG_SECONDS ago (or at start-up, before there is such a sample) is not.
        settled = [head for at, head in self._heads if now - at >= READY_LAG_SECONDS]
        reference = settled[-1] if settled else self._heads[0][1]
        if watermark >= reference:
            return Readiness(True, "ok")
        return Readiness(False, f"search index {latest - watermark} events behind")

    async def refresh_shared_metrics(self) -> None:
        """Read the outbox figures for a scrape (skipped if the database does not answer)."""
        sessions = self._sessions
        if sessions is None:
            return
        try:
            async with asyncio.timeout(DB_TIMEOUT_SECONDS), sessions() as session:
                stats = await outbox_stats(session, self._clock())
        except Exception as error:  # a scrape shows the last figures rather than failing
            log.warning("metrics: could not read the outbox: %s", type(error).__name__)
            return
        self._metrics.outbox_read(stats)
