"""The bookkeeping of a poll run: reports, polls under way and finished, a feed's next state."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.feeds.fetch import FetchResult
from services.feeds.parse import ParsedFeed
from storage.feeds import FEED_STATE
from storage.models import Feed

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=24)
DEACTIVATE_AFTER_ERRORS = 20
# Finished polls are recorded together with the next claim, or at least this often.
RECORD_WITHIN_SECONDS = 1.0


@dataclass(slots=True)
class PollReport:
    feed_id: int
    url: str
    status: str  # ok | not_modified | error | busy (another poll holds the feed)
    added: int = 0
    updated: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class Polled:
    report: PollReport
    outcome: dict[str, Any]  # the feed's new polling state, for FeedRepository.record


class PollRun:
    """The bookkeeping of one poll_due call: polls under way, finished, reported."""

    def __init__(
        self,
        concurrency: int,
        limit: int | None,
        on_report: Callable[[PollReport], None] | None,
    ) -> None:
        self.concurrency = concurrency
        self.limit = limit
        # Claim a few feeds at a time, not one per finished poll: fewer transactions.
        self.claim_batch = max(1, concurrency // 8)
        self.running: dict[asyncio.Task[Polled], Feed] = {}
        self.finished: list[Polled] = []
        self.first_finished_at: float | None = None
        self.reports: list[PollReport] = []
        self.claimed = 0
        self._on_report = on_report

    def free(self) -> int:
        free = self.concurrency - len(self.running)
        if self.limit is not None:
            free = min(free, self.limit - self.claimed)
        return max(0, free)

    def should_write(self, free: int, now: float) -> bool:
        if free > 0 and (free >= self.claim_batch or not self.running):
            return True
        if not self.finished:
            return False
        late = self.first_finished_at is not None and (
            now - self.first_finished_at >= RECORD_WITHIN_SECONDS
        )
        return late or not self.running or len(self.finished) >= self.claim_batch

    def start(self, feeds: Iterable[Feed], poll: Callable[[Feed], Any]) -> None:
        for feed in feeds:
            self.running[asyncio.create_task(poll(feed), name=f"feed {feed.id}")] = feed
            self.claimed += 1

    def collect(self, done: Iterable[asyncio.Task[Any]], now: float) -> None:
        for task in done:
            self.running.pop(task, None)
            if task.cancelled() or not isinstance(result := task.result(), Polled):
                continue  # a poll cut short, or the stop signal
            if not self.finished:
                self.first_finished_at = now
            self.finished.append(result)

    def recorded(self) -> None:
        for polled in self.finished:
            if self._on_report is not None:
                self._on_report(polled.report)
            else:
                self.reports.append(polled.report)
        self.finished.clear()
        self.first_finished_at = None


def next_state(
    feed: Feed,
    fetched: FetchResult | None,
    report: PollReport,
    parsed: ParsedFeed | None,
    now: datetime,
) -> dict[str, Any]:
    """The feed's polling state after this poll (from its state when claimed)."""
    state: dict[str, Any] = {name: getattr(feed, name) for name in FEED_STATE}
    state.update(id=feed.id, claim=feed.claim, last_polled_at=now)
    interval = timedelta(seconds=feed.interval_seconds)
    if report.status == "error":
        errors = feed.consecutive_errors + 1
        state.update(
            consecutive_errors=errors,
            last_error=report.error,
            next_poll_at=now + min(interval * 2 ** min(errors, 10), MAX_BACKOFF),
        )
        if errors >= DEACTIVATE_AFTER_ERRORS:
            state["active"] = False
            log.warning("feed %s deactivated after %d errors", feed.url, errors)
        return state
    state.update(
        consecutive_errors=0, last_error=None, last_success_at=now, next_poll_at=now + interval
    )
    if fetched is not None:
        state.update(etag=fetched.etag, last_modified=fetched.last_modified)
        if fetched.body is not None:
            state["body_hash"] = body_hash(fetched.body)
    if parsed is not None:
        if parsed.title and not feed.title:
            state["title"] = parsed.title[:512]
        if parsed.site_url:  # the feed's word on its site is the latest one
            state["site_url"] = parsed.site_url
    return state
