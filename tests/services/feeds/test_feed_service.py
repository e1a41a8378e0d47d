"""Feed polling end to end below Telegram: HTTP (MockTransport) -> parse -> ingest -> events."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.feeds.run import DEACTIVATE_AFTER_ERRORS
from services.feeds.service import FeedService
from services.ingest import IngestService
from storage.models import Article, ArticleEvent, FeedItem
from tests.conftest import FixedClock

FEED_URL = "https://news.example/rss.xml"


async def public_dns(host: str, port: int) -> Sequence[str]:
    return ["93.184.216.34"]


def rss(*items: tuple[str, str, str | None]) -> bytes:
    entries = "".join(
        f"<item><title>{title}</title><guid>{guid}</guid><link>/story/{guid}</link>"
        f"<description>{title}. The story of {title.lower()} in full.</description>"
        + (f"<pubDate>{date}</pubDate>" if date else "")
        + "</item>"
        for guid, title, date in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Example News</title>'
        f"<link>https://news.example/</link>{entries}</channel></rss>"
    ).encode()


class Site:
    """A scripted feed server: each poll gets the next response."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0) if self.responses else httpx.Response(304)


@pytest.fixture
def site() -> Site:
    return Site()


@pytest.fixture
async def feeds(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, site: Site
) -> FeedService:
    client = httpx.AsyncClient(transport=httpx.MockTransport(site.handler))
    ingest = IngestService(sessions, clock=clock)
    return FeedService(sessions, ingest, client, clock=clock, resolver=public_dns)


async def events(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, bool]]:
    """The feed item log: each entry new to its feed, and whether it is news.

    (Feed entries are stored silently in the article event log; alerts come from here.)
    """
    async with sessions() as session:
        silent = await session.execute(select(ArticleEvent.notify).where(ArticleEvent.notify))
        assert silent.all() == []
        rows = await session.execute(
            select(Article.title, FeedItem.notify)
            .join(Article, Article.id == FeedItem.article_id)
            .order_by(FeedItem.seq)
        )
        return [(title, notify) for title, notify in rows.all()]


def rfc822(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


async def test_first_poll_stores_silently_then_new_entries_alert(
    feeds: FeedService, site: Site, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    added = await feeds.add(FEED_URL)
    assert added.created and added.feed is not None
    older = rfc822(clock.now - timedelta(days=2))
    site.responses.append(
        httpx.Response(
            200,
            content=rss(("1", "Old story", older), ("2", "Undated story", None)),
            headers={"ETag": '"v1"'},
        )
    )
    (first,) = await feeds.poll_due()
    assert (first.status, first.added) == ("ok", 2)
    assert await events(sessions) == [("Old story", False), ("Undated story", False)]

    clock.now += timedelta(minutes=11)
    newer = rfc822(clock.now)
    site.responses.append(
        httpx.Response(
            200,
            content=rss(
                ("3", "Fresh story", newer), ("1", "Old story", older), ("2", "Undated story", None)
            ),
        )
    )
    (second,) = await feeds.poll_due()
    assert (second.added, second.skipped) == (1, 2)
    assert (await events(sessions))[-1] == ("Fresh story", True)
    assert site.requests[1].headers["If-None-Match"] == '"v1"'
    async with sessions() as session:
        urls = (await session.execute(select(Article.url).order_by(Article.id))).scalars().all()
    assert urls[0] == "https://news.example/story/1"  # relative link resolved


async def test_not_due_feeds_are_not_polled_and_304_changes_nothing(
    feeds: FeedService, site: Site, clock: FixedClock
) -> None:
    await feeds.add(FEED_URL)
    site.responses.append(httpx.Response(200, content=rss(("1", "Story", None))))
    await feeds.poll_due()
    assert await feeds.poll_due() == []
    clock.now += timedelta(minutes=10)
    (report,) = await feeds.poll_due()
    assert report.status == "not_modified"


async def test_malformed_feed_is_reported_nothing_stored_and_others_go_on(
    feeds: FeedService, site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await feeds.add(FEED_URL)
    await feeds.add("https://other.example/atom")
    site.responses.append(httpx.Response(200, content=b"<rss><channel><item><title>broken"))
    site.responses.append(httpx.Response(200, content=rss(("9", "Good story", None))))
    reports = sorted(await feeds.poll_due(), key=lambda r: r.feed_id)
    statuses = sorted(r.status for r in reports)
    assert statuses == ["error", "ok"]
    assert [t for t, _ in await events(sessions)] == ["Good story"]
    (broken,) = [f for f in await feeds.list_feeds() if f.consecutive_errors]
    assert broken.last_error


async def test_errors_back_off_and_deactivate_the_feed(
    feeds: FeedService, site: Site, clock: FixedClock
) -> None:
    await feeds.add(FEED_URL)
    for _ in range(DEACTIVATE_AFTER_ERRORS):
        site.responses.append(httpx.Response(503))
        clock.now += timedelta(days=2)
        (report,) = await feeds.poll_due()
        assert report.status == "error" and "503" in (report.error or "")
    (feed,) = await feeds.list_feeds()
    assert not feed.active
    clock.now += timedelta(days=2)
    assert await feeds.poll_due() == []


async def test_backoff_grows_with_consecutive_errors(
    feeds: FeedService, site: Site, clock: FixedClock
) -> None:
    await feeds.add(FEED_URL)
    delays = []
    for _ in range(3):
        site.responses.append(httpx.Response(500))
        await feeds.poll_due()
        (feed,) = await feeds.list_feeds()
        delays.append(feed.next_poll_at - clock.now)
        clock.now = feed.next_poll_at
    assert delays == [timedelta(minutes=20), timedelta(minutes=40), timedelta(minutes=80)]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://[::1]/",
        "file:///etc/passwd",
        "http://169.254.169.254/latest",
        "http://10.0.0.8/rss",
    ],
)
async def test_private_and_odd_urls_are_refused(feeds: FeedService, url: str) -> None:
    result = await feeds.add(url)
    assert result.feed is None and result.refusal
    assert await feeds.list_feeds() == []


async def test_an_address_longer_than_a_feed_keeps_is_refused_not_stored(
    feeds: FeedService,
) -> None:
    url = "https://news.example/rss?" + "q" * 2048
    result = await feeds.add(url)
    assert result.feed is None
    assert result.refusal == "the URL is longer than 2048 characters"
    assert await feeds.list_feeds() == []


async def test_adding_twice_is_harmless_and_remove_works(feeds: FeedService) -> None:
    first = await feeds.add(FEED_URL)
    again = await feeds.add(FEED_URL)
    assert first.feed and again.feed and first.feed.id == again.feed.id and not again.created
    assert await feeds.remove(first.feed.id)
    assert not await feeds.remove(first.feed.id)


async def test_reordered_and_republished_entries_send_nothing_twice(
    feeds: FeedService, site: Site, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    await feeds.add(FEED_URL)
    site.responses.append(httpx.Response(200, content=rss(("a", "Alpha", None))))
    await feeds.poll_due()
    for order in [
        (("b", "Beta", None), ("a", "Alpha", None)),
        (("a", "Alpha", None), ("b", "Beta", None)),
    ]:
        clock.now += timedelta(minutes=10)
        site.responses.append(httpx.Response(200, content=rss(*order)))
        await feeds.poll_due()
    assert [t for t, notify in await events(sessions) if notify] == ["Beta"]


class HangingSite:
    """Feeds on slow.example hang until released; every other host answers 304 at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.polled: list[str] = []
        self.stop_on_slow: asyncio.Event | None = None  # set when slow.example is requested

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.polled.append(request.url.host)
        if request.url.host == "slow.example":
            if self.stop_on_slow is not None:
                self.stop_on_slow.set()
            await self.release.wait()
        return httpx.Response(304)

    def service(self, sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> FeedService:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self.handler))
        ingest = IngestService(sessions, clock=clock)
        return FeedService(
            sessions, ingest, client, clock=clock, resolver=public_dns, concurrency=2
        )

    async def wait_for_polls(self, count: int) -> None:
        for _ in range(2000):
            if len(self.polled) >= count:
                return
            await asyncio.sleep(0.01)


async def test_a_hanging_feed_holds_up_only_its_own_slot(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    site = HangingSite()
    feeds = site.service(sessions, clock)
    await feeds.add("https://slow.example/rss")  # due first, so claimed first
    # More feeds than one claim could take at once: claiming in batches would leave the
    # ones after the hanging feed's batch waiting for it.
    for n in range(120):
        await feeds.add(f"https://fast{n}.example/rss")
    polling = asyncio.create_task(feeds.poll_due())
    await site.wait_for_polls(121)
    assert len(site.polled) == 121 and not polling.done()  # all through the other slot
    site.release.set()
    reports = await polling
    assert [r.status for r in reports] == ["not_modified"] * 121
    assert reports[-1].url == "https://slow.example/rss"


async def test_once_stopped_no_new_poll_starts_and_those_under_way_finish(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    site = HangingSite()
    feeds = site.service(sessions, clock)
    await feeds.add("https://slow.example/rss")
    for n in range(5):
        await feeds.add(f"https://fast{n}.example/rss")
    stop = asyncio.Event()
    stop.set()
    assert await feeds.poll_due(stop=stop) == []
    stop.clear()
    site.stop_on_slow = stop
    polling = asyncio.create_task(feeds.poll_due(stop=stop))
    await site.wait_for_polls(1)
    await asyncio.sleep(0.05)
    assert not polling.done()  # the slow feed, under way, is waited for
    site.release.set()
    reports = await polling
    # The first claim took two feeds (two slots); the stop came while both were under way.
    assert sorted(r.url for r in reports) == [
        "https://fast0.example/rss",
        "https://slow.example/rss",
    ]
    assert len(await feeds.poll_due()) == 4  # the rest are still due


async def test_entries_seen_again_leave_no_holes_in_the_feed_item_log(
    feeds: FeedService, site: Site, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    """A hole in ``seq`` holds the alert matcher back (it may be an open transaction), so
    re-seen entries must not take sequence numbers (as ON CONFLICT alone does on PostgreSQL)."""
    await feeds.add(FEED_URL)
    items = [("a", "Alpha", None)]
    for guid, title in [("b", "Beta"), ("c", "Gamma"), ("d", "Delta")]:
        site.responses.append(httpx.Response(200, content=rss(*items)))
        await feeds.poll_due()
        clock.now += timedelta(minutes=10)
        items.append((guid, title, None))
    async with sessions() as session:
        seqs = (await session.execute(select(FeedItem.seq).order_by(FeedItem.seq))).scalars().all()
    assert len(seqs) == 3
    assert list(seqs) == list(range(seqs[0], seqs[0] + 3))


async def test_each_successful_poll_records_the_site_the_feed_names(
    feeds: FeedService, site: Site, clock: FixedClock
) -> None:
    await feeds.add(FEED_URL)
    assert [f.site_url for f in await feeds.list_feeds()] == [None]
    site.responses.append(httpx.Response(200, content=rss(("a", "Alpha", None))))
    await feeds.poll_due()
    assert [f.site_url for f in await feeds.list_feeds()] == ["https://news.example/"]

    moved = rss(("a", "Alpha", None)).replace(
        b"<link>https://news.example/</link>", b"<link>/home</link>"
    )
    for response in (
        httpx.Response(500),  # an error says nothing about the site
        httpx.Response(200, content=moved),  # relative: against the feed's own URL
        httpx.Response(200, content=moved.replace(b"/home", b"javascript:alert(1)")),
    ):
        clock.now += timedelta(hours=2)
        site.responses.append(response)
        await feeds.poll_due()
        (feed,) = await feeds.list_feeds()
        if response.status_code == 500:
            assert (feed.consecutive_errors, feed.site_url) == (1, "https://news.example/")
    # A link that is no web address leaves the last good one.
    assert [f.site_url for f in await feeds.list_feeds()] == ["https://news.example/home"]
