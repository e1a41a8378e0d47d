"""Feed polling in every process that runs alerts: due feeds are claimed, so none is polled twice.

Unlike matching and sending, which only the leader does, every process polls: each claims
the due feeds it has slots for (FeedService.poll_due), so more processes poll more feeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from services.feeds.run import PollReport
from services.feeds.service import STOP_GRACE_SECONDS, FeedService
from storage.db import OutageLog

log = logging.getLogger(__name__)

FEED_CHECK_SECONDS = 15.0  # how often due feeds are looked for (each has its own interval)


class FeedLoop:
    def __init__(
        self,
        feeds: FeedService,
        *,
        check_every: float = FEED_CHECK_SECONDS,
        on_report: Callable[[PollReport], None] | None = None,
        grace: float = STOP_GRACE_SECONDS,
    ) -> None:
        """``on_report`` sees every poll's outcome (for metrics), after it is logged;
        ``grace``: how long polls under way may finish once stopping."""
        self._feeds = feeds
        self._grace = grace
        self._check_every = check_every
        self._on_report = on_report
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="feeds")

    async def stop(self) -> None:
        """Stop: polls under way get ``grace`` seconds, the rest give their feeds back."""
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        outage = OutageLog(log, "feed polling")
        while not self._stop.is_set():
            try:
                await self._feeds.poll_due(
                    stop=self._stop, on_report=self._report, grace=self._grace
                )
                outage.succeeded()
            except Exception as error:  # the loop must outlive a database restart
                if not outage.failed(error):
                    log.exception("polling feeds failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._check_every)

    def _report(self, report: PollReport) -> None:
        if report.status == "error":
            log.warning("feed %s: %s", report.url, report.error)
        elif report.added:
            log.info("feed %s: %d new articles", report.url, report.added)
        if self._on_report is not None:
            self._on_report(report)
