"""Feed management and polling: fetch, parse, and store entries through ingestion."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.feeds.fetch import FetchResult, fetch_feed
from services.feeds.guard import FeedUrlRefused, Resolver, check_feed_url, resolve_host
from services.feeds.parse import ParsedFeed, parse_feed, site_address
from services.feeds.run import (
    RECORD_WITHIN_SECONDS,
    Polled,
    PollReport,
    PollRun,
    body_hash,
    next_state,
)
from services.feeds.store import Entry, EntryWriter
from services.ingest import IngestService
from storage.db import storage_fault
from storage.feeds import FeedRepository
from storage.follows import FollowRepository
from storage.models import Feed

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = timedelta(minutes=10)
# How long a claim holds a feed: far past a poll's 20 s fetch timeout plus parsing and
# storing, so a live poll never loses its feed, yet a dead poller's feeds soon come back.
POLL_LEASE = timedelta(minutes=5)
DEFAULT_CONCURRENCY = 64
# Once asked to stop, polls under way get this long to finish; the rest are cut short and
# their feeds released at once (a hanging feed would otherwise hold a shutdown for 20 s).
STOP_GRACE_SECONDS = 5.0


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
    site_url: str | None = None  # the site the feed belongs to (OPML htmlUrl)


@dataclass(frozen=True, slots=True)
class AddResult:
    feed: FeedView | None
    created: bool = False
    refusal: str | None = None


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
        feed.site_url,
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
        concurrency: int = DEFAULT_CONCURRENCY,
        holder: str | None = None,
        parse_executor: Executor | None = None,
    ) -> None:
        """``holder`` names this process in the claims it takes (host:pid, say);
        ``parse_executor``: a process pool for parsing feeds (default: a thread)."""
        self._sessions = session_factory
        self._writer = EntryWriter(ingest, session_factory, clock)
        self._client = client
        self._clock = clock
        self._allowed_hosts = allowed_hosts
        self._resolver = resolver
        # poll_due claims no more feeds than it can poll at once (a claimed feed waiting for
        # a slot would hold a lease for nothing); the semaphore bounds poll() and poll_due()
        # together when both run in one process.
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self._parse_executor = parse_executor
        self._holder = (holder or f"poller-{secrets.token_hex(4)}")[:100]
        self._claim_numbers = itertools.count(1)

    async def add(
        self, url: str, interval: timedelta = DEFAULT_INTERVAL, *, site_url: str | None = None
    ) -> AddResult:
        """Add a feed by URL (http(s), public addresses only); adding it twice is harmless.

        ``site_url`` (an OPML outline's htmlUrl) is kept for a feed that names no site yet."""
        try:
            normalised = await check_feed_url(
                url, allowed_hosts=self._allowed_hosts, resolver=self._resolver
            )
        except FeedUrlRefused as refusal:
            return AddResult(None, refusal=str(refusal))
        async with self._sessions.begin() as session:
            feed, created = await FeedRepository(session).add_unless_present(
                normalised, self._clock(), int(interval.total_seconds())
            )
            site = site_address(site_url)
            if site and feed.site_url is None:
                feed.site_url = site
            if not feed.public:
                # A chat's feed becomes everyone's: its entries reach every subscription.
                feed.public = True
                if not feed.active:  # nobody followed it any more: polled again
                    feed.active, feed.next_poll_at = True, self._clock()
            return AddResult(_view(feed), created=created)

    async def list_feeds(self) -> list[FeedView]:
        async with self._sessions() as session:
            return [_view(feed) for feed in await FeedRepository(session).all()]

    async def remove(self, feed_id: int) -> bool:
        """Stop polling a feed (its articles stay); the chats following it no longer do."""
        async with self._sessions.begin() as session:
            await FollowRepository(session).remove_feed(feed_id)
            return await FeedRepository(session).remove(feed_id)

    async def poll_due(
        self,
        limit: int | None = None,
        stop: asyncio.Event | None = None,
        on_report: Callable[[PollReport], None] | None = None,
        grace: float = STOP_GRACE_SECONDS,
    ) -> list[PollReport]:
        """Poll the feeds whose time has come, many at a time, until none is due.

        Due feeds are claimed as slots free up (a few at once), not in fixed batches: a
        slow or hanging feed then holds up only its own slot. Each claim is this poll's
        alone (FeedRepository.claim_due), so processes polling one database never poll a
        feed twice. Outcomes are written with the next claim, in one transaction.

        At most ``limit`` feeds per call. Once ``stop`` is set nothing new starts, polls
        under way get ``grace`` seconds, and the rest are cancelled and their feeds given
        back. Reports go to ``on_report`` when given (a long run keeps none), else they are
        returned.
        """
        run = PollRun(self._concurrency, limit, on_report)
        stopped = asyncio.create_task(stop.wait()) if stop is not None else None
        deadline: float | None = None
        loop = asyncio.get_running_loop()
        try:
            while True:
                if stop is not None and stop.is_set() and deadline is None:
                    deadline = loop.time() + grace
                free = run.free() if deadline is None else 0
                if run.should_write(free, loop.time()):
                    await self._write_and_claim(run, free)
                if not run.running:
                    return run.reports
                waiting: set[asyncio.Task[Any]] = set(run.running)
                if stopped is not None and not stopped.done():
                    waiting.add(stopped)
                timeout = RECORD_WITHIN_SECONDS if run.finished else None
                if deadline is not None:
                    timeout = max(0.0, deadline - loop.time())
                done, _ = await asyncio.wait(
                    waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                run.collect(done, loop.time())
                if deadline is not None and loop.time() >= deadline and run.running:
                    await self._cut_short(run)
        finally:
            if stopped is not None:
                stopped.cancel()
            for task in run.running:  # only when cancelled: their leases expire and they come back
                task.cancel()
            await asyncio.gather(*run.running, return_exceptions=True)

    async def _write_and_claim(self, run: PollRun, free: int) -> None:
        claim = free > 0 and (free >= run.claim_batch or not run.running)
        now = self._clock()
        async with self._sessions.begin() as session:
            repo = FeedRepository(session)
            await self._record(repo, run.finished)
            feeds = (
                await repo.claim_due(now, now + POLL_LEASE, free, self._new_token())
                if claim
                else []
            )
        run.recorded()
        run.start(feeds, self._poll_limited)

    async def _cut_short(self, run: PollRun) -> None:
        unfinished = dict(run.running)
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        run.running.clear()
        run.collect({t for t in unfinished if not t.cancelled()}, 0.0)
        cut = [feed for task, feed in unfinished.items() if task.cancelled()]
        async with self._sessions.begin() as session:
            repo = FeedRepository(session)
            await self._record(repo, run.finished)
            await repo.release([(f.id, f.claim or "") for f in cut], self._clock())
        run.recorded()
        if cut:
            log.info("stopping: %d feed polls cut short, their feeds given back", len(cut))

    async def poll(self, feed_id: int | None = None) -> list[PollReport]:
        """Poll one feed now, or all of them, whatever their schedule."""
        async with self._sessions() as session:
            repo = FeedRepository(session)
            if feed_id is None:
                ids = [feed.id for feed in await repo.all()]
            else:
                one = await repo.get(feed_id)
                ids = [one.id] if one is not None else []
        now = self._clock()
        token = self._new_token()
        claimed: list[Feed] = []
        busy: list[PollReport] = []
        async with self._sessions.begin() as session:
            repo = FeedRepository(session)
            for id_ in ids:
                feed = await repo.claim_one(id_, now, now + POLL_LEASE, token)
                if feed is not None:
                    claimed.append(feed)
                elif (held := await repo.get(id_)) is not None:
                    busy.append(
                        PollReport(
                            held.id, held.url, "busy", error="another poll holds it right now"
                        )
                    )
        polled = list(await asyncio.gather(*(self._poll_limited(feed) for feed in claimed)))
        async with self._sessions.begin() as session:
            await self._record(FeedRepository(session), polled)
        return sorted([p.report for p in polled] + busy, key=lambda r: r.feed_id)

    def _new_token(self) -> str:
        return f"{self._holder}#{next(self._claim_numbers)}"

    async def _poll_limited(self, feed: Feed) -> Polled:
        async with self._slots:
            try:
                report, fetched, parsed = await self._poll(feed)
            except Exception as error:  # one broken feed must never stop the others
                fault = storage_fault(error)
                if fault is None:
                    log.exception("polling feed %s failed", feed.id)
                reason = (
                    f"internal error: {type(error).__name__}"
                    if fault is None
                    else f"the database is {fault}"  # an outage: the feed loop says so once
                )
                report = PollReport(feed.id, feed.url, "error", error=reason)
                fetched, parsed = None, None
            return Polled(report, next_state(feed, fetched, report, parsed, self._clock()))

    async def _poll(self, feed: Feed) -> tuple[PollReport, FetchResult, ParsedFeed | None]:
        fetched = await fetch_feed(
            self._client,
            feed.url,
            etag=feed.etag,
            last_modified=feed.last_modified,
            allowed_hosts=self._allowed_hosts,
            resolver=self._resolver,
        )
        report = PollReport(feed.id, feed.url, fetched.status, error=fetched.error)
        if fetched.status != "ok" or fetched.body is None:
            return report, fetched, None
        if body_hash(fetched.body) == feed.body_hash:  # the same bytes as last time
            report.status = "not_modified"
            return report, fetched, None
        parse = functools.partial(
            parse_feed, fetched.body, base_url=fetched.final_url, now=self._clock()
        )
        # In other processes when given a pool (the CPU-bound part of a poll), else a thread.
        parsed = await asyncio.get_running_loop().run_in_executor(self._parse_executor, parse)
        report.problems = parsed.problems
        if not parsed.entries and parsed.problems:
            report.status, report.error = "error", parsed.problems[0]
            return report, fetched, None
        first_poll = feed.last_success_at is None
        entries = [
            Entry(
                replace(
                    entry.article,
                    # A link-only entry still becomes an article: its title is its story.
                    body=entry.article.body or entry.article.title,
                    external_id=entry_id(feed.id, entry.guid),
                ),
                f"{feed.url} entry {n}",
                # A new feed's back catalogue is stored silently; so are old entries.
                notify=(
                    not first_poll
                    if entry.article.published_at is None
                    else entry.article.published_at > feed.added_at
                ),
                feed_id=feed.id,
            )
            for n, entry in enumerate(parsed.entries, start=1)
        ]
        stored = await self._writer.store(entries)
        report.added, report.updated, report.skipped = stored.added, stored.updated, stored.skipped
        report.problems += stored.problems
        return report, fetched, parsed

    async def _record(self, repo: FeedRepository, polled: list[Polled]) -> None:
        written = await repo.record([p.outcome for p in polled])
        if written is not None and written < len(polled):
            # Removed while polling, or a poll that outlived its lease: its feed was
            # claimed again, and the newer poll's outcome is the one kept.
            log.info("%d of %d feed poll outcomes dropped", len(polled) - written, len(polled))
