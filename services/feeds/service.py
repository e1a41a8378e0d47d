"""Feed management and polling: fetch, parse, and store entries through ingestion."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.feeds.fetch import FetchResult, fetch_feed
from services.feeds.guard import FeedUrlRefused, Resolver, check_url, resolve_host
from services.feeds.parse import parse_feed
from services.ingest import IngestService
from storage.feeds import FeedRepository
from storage.models import Feed

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=24)
DEACTIVATE_AFTER_ERRORS = 20
POLL_LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class FeedView:
    id: int
    url: str
    title: str | None
    active: bool
    interval_seconds: int
    consecutive_errors: int
    last_error: str | None
    last_polled_at: datetime | None
    next_poll_at: datetime


@dataclass(frozen=True, slots=True)
class AddResult:
    feed: FeedView | None
    created: bool = False
    refusal: str | None = None


@dataclass(slots=True)
class PollReport:
    feed_id: int
    url: str
    status: str  # ok | not_modified | error
    added: int = 0
    updated: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None


def _view(feed: Feed) -> FeedView:
    return FeedView(
        feed.id,
        feed.url,
        feed.title,
        feed.active,
        feed.interval_seconds,
        feed.consecutive_errors,
        feed.last_error,
        feed.last_polled_at,
        feed.next_poll_at,
    )


def entry_id(feed_id: int, guid: str) -> str:
    """The article's external id: the feed's guid, scoped to the feed (guids are not global)."""
    if len(guid) > 400:
        guid = "sha1:" + hashlib.sha1(guid.encode(), usedforsecurity=False).hexdigest()
    return f"feed{feed_id}:{guid}"


class FeedService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        ingest: IngestService,
        client: httpx.AsyncClient,
        *,
        clock: Callable[[], datetime],
        allowed_hosts: frozenset[str] = frozenset(),
        resolver: Resolver = resolve_host,
        concurrency: int = 10,
    ) -> None:
        self._sessions = session_factory
        self._ingest = ingest
        self._client = client
        self._clock = clock
        self._allowed_hosts = allowed_hosts
        self._resolver = resolver
        # poll_due claims no more feeds than it can poll at once (a claimed feed waiting for
        # a slot would hold a lease for nothing); the semaphore bounds poll() and poll_due()
        # together when both run in one process.
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)

    async def add(self, url: str, interval: timedelta = DEFAULT_INTERVAL) -> AddResult:
        """Add a feed by URL (http(s), public addresses only); adding it twice is harmless."""
        try:
            normalised = await check_url(
                url, allowed_hosts=self._allowed_hosts, resolver=self._resolver
            )
        except FeedUrlRefused as refusal:
            return AddResult(None, refusal=str(refusal))
        async with self._sessions.begin() as session:
            feed, created = await FeedRepository(session).add_unless_present(
                normalised, self._clock(), int(interval.total_seconds())
            )
            return AddResult(_view(feed), created=created)

    async def list_feeds(self) -> list[FeedView]:
        async with self._sessions() as session:
            return [_view(feed) for feed in await FeedRepository(session).all()]

    async def remove(self, feed_id: int) -> bool:
        """Stop polling a feed (its articles stay)."""
        async with self._sessions.begin() as session:
            return await FeedRepository(session).remove(feed_id)

    async def poll_due(
        self, limit: int = 1000, stop: asyncio.Event | None = None
    ) -> list[PollReport]:
        """Poll the feeds whose time has come, a few at a time; return what happened.

        Due feeds are claimed one by one as polls finish, not in fixed batches: a slow or
        hanging feed then holds up only its own slot, not a batch waiting for its slowest
        member. At most ``limit`` feeds per call; once ``stop`` is set nothing new starts
        and the polls under way finish.
        """
        reports: list[PollReport] = []
        running: set[asyncio.Task[PollReport]] = set()
        claimed = 0
        try:
            while True:
                free = min(self._concurrency - len(running), limit - claimed)
                if free > 0 and not (stop is not None and stop.is_set()):
                    now = self._clock()
                    async with self._sessions.begin() as session:
                        feeds = await FeedRepository(session).claim_due(now, now + POLL_LEASE, free)
                    claimed += len(feeds)
                    running.update(asyncio.create_task(self._poll_limited(f)) for f in feeds)
                if not running:
                    return reports
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                reports.extend(task.result() for task in done)
        finally:
            for task in running:  # only when cancelled: their leases expire and they come back
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def poll(self, feed_id: int | None = None) -> list[PollReport]:
        """Poll one feed now, or all of them, whatever their schedule."""
        async with self._sessions() as session:
            repo = FeedRepository(session)
            if feed_id is None:
                feeds = await repo.all()
            else:
                one = await repo.get(feed_id)
                feeds = [one] if one is not None else []
        return list(await asyncio.gather(*(self._poll_limited(feed) for feed in feeds)))

    async def _poll_limited(self, feed: Feed) -> PollReport:
        async with self._slots:
            try:
                return await self._poll(feed)
            except Exception as error:  # one broken feed must never stop the others
                log.exception("polling feed %s failed", feed.id)
                report = PollReport(
                    feed.id, feed.url, "error", error=f"internal error: {type(error).__name__}"
                )
                await self._record(feed, None, report)
                return report

    async def _poll(self, feed: Feed) -> PollReport:
        fetched = await fetch_feed(
            self._client,
            feed.url,
            etag=feed.etag,
            last_modified=feed.last_modified,
            allowed_hosts=self._allowed_hosts,
            resolver=self._resolver,
        )
        report = PollReport(feed.id, feed.url, fetched.status, error=fetched.error)
        if fetched.status == "ok" and fetched.body is not None:
            parsed = await asyncio.to_thread(
                parse_feed, fetched.body, base_url=fetched.final_url, now=self._clock()
            )
            report.problems = parsed.problems
            if not parsed.entries and parsed.problems:
                report.status, report.error = "error", parsed.problems[0]
            else:
                first_poll = feed.last_success_at is None
                added_at = feed.added_at
                items = [
                    (
                        replace(
                            entry.article,
                            # A link-only entry still becomes an article: its title is its story.
                            body=entry.article.body or entry.article.title,
                            external_id=entry_id(feed.id, entry.guid),
                        ),
                        f"{feed.url} entry {n}",
                    )
                    for n, entry in enumerate(parsed.entries, start=1)
                ]

                def notify(published: datetime | None) -> bool:
                    # A new feed's back catalogue is stored silently; so are old entries.
                    if published is None:
                        return not first_poll
                    return published > added_at

                ingested = await self._ingest.ingest(items, notify=notify)
                report.added, report.updated, report.skipped = (
                    ingested.added,
                    ingested.updated,
                    ingested.skipped,
                )
                report.problems += [f"{r.location}: {r.reason}" for r in ingested.rejected]
                if parsed.title and not feed.title:
                    feed.title = parsed.title
        await self._record(feed, fetched, report)
        return report

    async def _record(self, feed: Feed, fetched: FetchResult | None, report: PollReport) -> None:
        now = self._clock()
        async with self._sessions.begin() as session:
            row = await FeedRepository(session).get(feed.id)
            if row is None:  # removed while polling
                return
            row.last_polled_at = now
            interval = timedelta(seconds=row.interval_seconds)
            if report.status == "error":
                row.consecutive_errors += 1
                row.last_error = report.error
                row.next_poll_at = now + min(
                    interval * 2 ** min(row.consecutive_errors, 10), MAX_BACKOFF
                )
                if row.consecutive_errors >= DEACTIVATE_AFTER_ERRORS:
                    row.active = False
                    log.warning(
                        "feed %s deactivated after %d errors", row.url, row.consecutive_errors
                    )
                return
            row.consecutive_errors, row.last_error = 0, None
            row.last_success_at = now
            row.next_poll_at = now + interval
            if fetched is not None:
                row.etag, row.last_modified = fetched.etag, fetched.last_modified
            if feed.title and not row.title:
                row.title = feed.title[:512]
