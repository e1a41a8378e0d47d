"""Several pollers on one database: each due feed is claimed by one, and claims expire."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.feeds.service import DEFAULT_INTERVAL, POLL_LEASE, FeedService
from services.ingest import IngestService
from storage.db import create_session_factory
from storage.models import Feed
from tests.conftest import EngineFactory, FixedClock
from tests.services.feeds.test_feed_service import public_dns, rss

FEEDS = 40


class Server:
    """Counts the requests for each feed, whichever poller sends them; answers with a feed.

    Requests from the pollers named in ``held`` wait until ``release`` is set; requests
    to a host in ``hang_hosts`` never end (until cancelled).
    """

    def __init__(self) -> None:
        self.polls: Counter[str] = Counter()
        self.by_poller: Counter[str] = Counter()
        self.urls: defaultdict[str, set[str]] = defaultdict(set)  # by poller
        self.in_flight: Counter[str] = Counter()
        self.held: set[str] = set()
        self.release = asyncio.Event()
        self.hang_hosts: set[str] = set()

    def client(self, poller: str) -> httpx.AsyncClient:
        async def handler(request: httpx.Request) -> httpx.Response:
            self.polls[str(request.url)] += 1
            self.by_poller[poller] += 1
            self.urls[poller].add(str(request.url))
            self.in_flight[poller] += 1
            try:
                if poller in self.held:
                    await self.release.wait()
                if request.url.host in self.hang_hosts:
                    await asyncio.Event().wait()
                await asyncio.sleep(0)  # let the other poller in between requests
                guid = request.url.host
                return httpx.Response(200, content=rss((guid, f"Story from {guid}", None)))
            finally:
                self.in_flight[poller] -= 1

        return httpx.AsyncClient(transport=httpx.MockTransport(handler))

    async def wait_until_in_flight(self, poller: str, count: int) -> None:
        for _ in range(1000):
            if self.in_flight[poller] >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{poller} never had {count} requests in flight")


def poller(
    sessions: async_sessionmaker[AsyncSession],
    server: Server,
    clock: FixedClock,
    name: str,
    concurrency: int = 4,
) -> FeedService:
    return FeedService(
        sessions,
        IngestService(sessions, clock=clock),
        server.client(name),
        clock=clock,
        resolver=public_dns,
        concurrency=concurrency,
        holder=name,
    )


def url(n: int) -> str:
    return f"https://site{n}.example/rss"


async def two_pollers(
    engine_factory: EngineFactory, server: Server, clock: FixedClock
) -> tuple[FeedService, FeedService]:
    """Two pollers, each with its own engine (its own connections), on one database."""
    first = poller(create_session_factory(engine_factory.new()), server, clock, "a")
    second = poller(create_session_factory(engine_factory.new()), server, clock, "b")
    for n in range(FEEDS):
        await first.add(url(n))
    return first, second


async def test_two_pollers_split_the_due_feeds_and_poll_none_twice(
    engine_factory: EngineFactory, clock: FixedClock
) -> None:
    server = Server()
    first, second = await two_pollers(engine_factory, server, clock)
    server.held = {"a", "b"}  # both pollers hold claims before any poll finishes
    polling = asyncio.gather(first.poll_due(), second.poll_due())
    await server.wait_until_in_flight("a", 4)
    await server.wait_until_in_flight("b", 4)
    server.release.set()
    reports_a, reports_b = await polling

    assert sorted(server.polls) == sorted(url(n) for n in range(FEEDS))
    assert set(server.polls.values()) == {1}
    assert server.by_poller["a"] >= 4 and server.by_poller["b"] >= 4
    assert server.by_poller["a"] + server.by_poller["b"] == FEEDS
    assert sorted(r.url for r in reports_a + reports_b) == sorted(server.polls)
    assert {r.status for r in reports_a + reports_b} == {"ok"}

    # Within the interval nothing is due again, for either of them.
    clock.now += DEFAULT_INTERVAL - timedelta(seconds=1)
    assert await asyncio.gather(first.poll_due(), second.poll_due()) == [[], []]
    clock.now += timedelta(seconds=1)
    await asyncio.gather(first.poll_due(), second.poll_due())
    assert set(server.polls.values()) == {2}


async def test_a_dead_pollers_claims_expire_after_the_lease(
    engine_factory: EngineFactory, clock: FixedClock
) -> None:
    server = Server()
    dying, survivor = await two_pollers(engine_factory, server, clock)
    # The first poller claims four feeds and stalls on them, as a process killed mid-poll
    # does: its claims stay in the database.
    server.held = {"a"}
    stalled = asyncio.create_task(dying.poll_due())
    await server.wait_until_in_flight("a", 4)
    held = set(server.polls)
    assert len(held) == 4

    await survivor.poll_due()
    assert sum(server.polls.values()) == FEEDS  # the four held feeds were left alone
    assert set(server.polls.values()) == {1}

    clock.now += POLL_LEASE - timedelta(seconds=1)
    assert await survivor.poll_due() == []  # the claims still stand
    clock.now += timedelta(seconds=1)
    taken_over = await survivor.poll_due()
    assert sorted(r.url for r in taken_over) == sorted(held)
    assert {u for u, n in server.polls.items() if n == 2} == held
    stalled.cancel()
    await asyncio.gather(stalled, return_exceptions=True)


async def test_a_late_outcome_after_the_claim_was_taken_over_is_not_written(
    engine_factory: EngineFactory, clock: FixedClock
) -> None:
    server = Server()
    slow, fast = await two_pollers(engine_factory, server, clock)
    server.held = {"a"}
    stalled = asyncio.create_task(slow.poll(1))  # claimed whatever its schedule
    await server.wait_until_in_flight("a", 1)
    clock.now += POLL_LEASE + timedelta(seconds=1)
    (taken_over,) = await fast.poll(1)
    assert taken_over.status == "ok"
    polled_by_fast_at = clock.now
    clock.now += timedelta(seconds=30)
    server.release.set()  # the first poll now finishes and tries to record what it found
    (late,) = await stalled
    assert late.status == "ok"
    async with create_session_factory(engine_factory.new())() as session:
        row = await session.get(Feed, 1)
    assert row is not None and row.claim is None
    assert row.last_polled_at == polled_by_fast_at
    assert row.next_poll_at == polled_by_fast_at + DEFAULT_INTERVAL


async def test_a_manual_poll_reports_feeds_another_poll_holds_as_busy(
    engine_factory: EngineFactory, clock: FixedClock
) -> None:
    server = Server()
    worker, admin = await two_pollers(engine_factory, server, clock)
    server.held = {"a"}
    polling = asyncio.create_task(worker.poll_due())
    await server.wait_until_in_flight("a", 4)
    reports = await admin.poll()
    busy = [r for r in reports if r.status == "busy"]
    assert len(busy) == 4 and all(r.error == "another poll holds it right now" for r in busy)
    assert sorted(r.url for r in busy) == sorted(server.urls["a"])
    server.release.set()
    await polling
    assert len(server.polls) == FEEDS and set(server.polls.values()) == {1}


async def test_stopping_cuts_hanging_polls_short_and_gives_their_feeds_back(
    engine_factory: EngineFactory, clock: FixedClock
) -> None:
    server = Server()
    stopping, other = await two_pollers(engine_factory, server, clock)
    server.hang_hosts = {"site0.example", "site1.example"}
    stop = asyncio.Event()
    polling = asyncio.create_task(stopping.poll_due(stop=stop, grace=0.05))
    for _ in range(1000):
        if server.polls[url(0)] and server.polls[url(1)]:
            break
        await asyncio.sleep(0.01)
    stop.set()
    reports = await polling
    assert not {url(0), url(1)} & {r.url for r in reports}
    server.hang_hosts = set()
    taken = await other.poll_due()  # at once, not after the lease
    assert {url(0), url(1)} <= {r.url for r in taken}
    # Every feed was polled to the end once: by the first poller before the stop, or by
    # the other after it (a poll cut short in the grace period gave its feed back too).
    assert sorted(r.url for r in reports + taken) == sorted(url(n) for n in range(FEEDS))
