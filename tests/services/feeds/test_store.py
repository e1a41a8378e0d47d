"""The entry writer: polls' entries stored together, each poll told what became of its own."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.feeds.service import FeedService
from services.feeds.store import Entry, EntryWriter
from services.ingest import IngestReport, IngestService, Located
from services.parsing import RawArticle
from storage.models import Article, ArticleEvent, FeedItem
from tests.conftest import FixedClock
from tests.services.feeds.test_feed_service import public_dns, rss


def entry(
    feed: int, guid: str, title: str, *, body: str | None = None, notify: bool = False
) -> Entry:
    article = RawArticle(
        title=title,
        body=f"The story of {title.lower()} in full." if body is None else body,
        url=f"https://site{feed}.example/{guid}",
        external_id=f"feed{feed}:{guid}",
    )
    return Entry(article, f"feed {feed} entry {guid}", notify=notify, feed_id=feed)


async def stored_titles(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, bool]]:
    """Each stored event's article, and whether its feed item says it is news."""
    async with sessions() as session:
        # Silent in the article event log: feed items carry the news.
        loud = await session.execute(select(ArticleEvent.seq).where(ArticleEvent.notify))
        assert loud.all() == []
        rows = await session.execute(
            select(Article.title, FeedItem.notify)
            .join(ArticleEvent, ArticleEvent.article_id == Article.id)
            .join(FeedItem, FeedItem.article_id == Article.id)
            .order_by(Article.title)
        )
        return [(title, notify) for title, notify in rows.all()]


async def test_polls_that_finish_together_are_stored_in_one_turn_each_told_its_own_counts(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    writer = EntryWriter(IngestService(sessions, clock=clock), sessions)
    await writer.store([entry(1, "a", "Alpha"), entry(1, "b", "Beta")])
    first, second, third = await asyncio.gather(
        # Feed 1 again: one entry unchanged, one rewritten, one new and loud.
        writer.store(
            [
                entry(1, "a", "Alpha"),
                entry(1, "b", "Beta", body="Beta, as corrected later in the day."),
                entry(1, "c", "Gamma", notify=True),
            ]
        ),
        # Feed 2: one new entry, one with nothing to store.
        writer.store([entry(2, "x", "Delta"), entry(2, "y", "Empty", body="")]),
        writer.store([entry(3, "z", "Zeta", notify=True)]),
    )
    assert (first.added, first.updated, first.skipped, first.problems) == (1, 1, 1, [])
    assert (second.added, second.updated, second.skipped) == (1, 0, 0)
    assert second.problems == [
        "feed 2 entry y: the article has no story text once boilerplate is removed"
    ]
    assert (third.added, third.updated, third.skipped) == (1, 0, 0)
    assert await stored_titles(sessions) == [
        ("Alpha", False),
        ("Beta", False),
        ("Beta", False),  # added, then updated
        ("Delta", False),
        ("Gamma", True),
        ("Zeta", True),
    ]


class BlockingIngest(IngestService):
    """The real ingestion, held at its start until released (to cancel a writer mid-turn)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def ingest(self, items: Iterable[Located], **kwargs: Any) -> IngestReport:
        self.entered.set()
        await self.release.wait()
        return await super().ingest(items, **kwargs)


async def test_a_poll_cancelled_during_its_write_turn_leaves_the_others_to_be_stored(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    ingest = BlockingIngest(sessions, clock=clock)
    writer = EntryWriter(ingest, sessions)
    cut = asyncio.create_task(writer.store([entry(1, "a", "Alpha")]))
    await ingest.entered.wait()  # the first poll holds the write turn
    waiting = asyncio.create_task(writer.store([entry(2, "b", "Beta")]))
    await asyncio.sleep(0)
    cut.cancel()
    await asyncio.gather(cut, return_exceptions=True)
    ingest.release.set()
    stored = await waiting
    assert (stored.added, stored.skipped) == (1, 0)
    assert [t for t, _ in await stored_titles(sessions)] == ["Beta"]


async def test_the_same_bytes_again_are_not_parsed_again(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    bodies = [
        rss(("1", "One", None)),
        rss(("1", "One", None)),
        rss(("1", "One", None), ("2", "Two", None)),
    ]
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, content=bodies.pop(0)))
    )
    feeds = FeedService(
        sessions, IngestService(sessions, clock=clock), client, clock=clock, resolver=public_dns
    )
    await feeds.add("https://news.example/rss")
    statuses = []
    for _ in range(3):
        (report,) = await feeds.poll(1)
        statuses.append((report.status, report.added, report.skipped))
    assert statuses == [("ok", 1, 0), ("not_modified", 0, 0), ("ok", 1, 1)]


async def test_feeds_parsed_and_cleaned_in_a_process_pool_are_stored_alike(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda request: httpx.Response(
                200, content=rss(("1", f"From {request.url.host}", None))
            )
        )
    )
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        feeds = FeedService(
            sessions,
            IngestService(sessions, clock=clock, executor=pool),
            client,
            clock=clock,
            resolver=public_dns,
            parse_executor=pool,
        )
        for host in ("one.example", "two.example"):
            await feeds.add(f"https://{host}/rss")
        reports = await feeds.poll_due()
    assert sorted((r.url, r.status, r.added) for r in reports) == [
        ("https://one.example/rss", "ok", 1),
        ("https://two.example/rss", "ok", 1),
    ]
    assert await stored_titles(sessions) == [
        ("From one.example", False),
        ("From two.example", False),
    ]


async def feed_items(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int, str, bool]]:
    """Each logged (feed, article) pair: the feed, the article's title, whether it is news."""
    async with sessions() as session:
        rows = await session.execute(
            select(FeedItem.feed_id, Article.title, FeedItem.notify)
            .join(Article, Article.id == FeedItem.article_id)
            .order_by(FeedItem.feed_id, Article.title)
        )
        return [(feed, title, notify) for feed, title, notify in rows.all()]


async def test_a_story_another_feed_brought_first_under_other_ids_is_logged_for_both(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    """Recognised by its text alone (other guid, other URL): still news to its second feed."""
    writer = EntryWriter(IngestService(sessions, clock=clock), sessions)
    first = await writer.store([entry(1, "a", "Harbour reopens", notify=True)])
    second = await writer.store([entry(2, "zz", "Harbour reopens", notify=True)])
    # The stored copy takes the newer one's id and URL (ingest's rule for a changed key).
    assert (first.added, second.added, second.updated, second.skipped) == (1, 0, 1, 0)
    assert await feed_items(sessions) == [
        (1, "Harbour reopens", True),
        (2, "Harbour reopens", True),
    ]


async def test_copies_of_one_story_in_one_batch_each_reach_their_feed(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    """The story is new in the very batch that carries its copies: every pair names it."""
    writer = EntryWriter(IngestService(sessions, clock=clock), sessions)
    stored = await writer.store(
        [
            entry(1, "a", "Bridge closed", notify=True),
            entry(2, "b", "Bridge closed", notify=True),
            entry(2, "c", "Quay"),
            entry(3, "d", "Bridge closed"),
        ]
    )
    assert (stored.added, stored.updated, stored.skipped) == (2, 0, 2)
    assert await feed_items(sessions) == [
        (1, "Bridge closed", True),
        (2, "Bridge closed", True),
        (2, "Quay", False),
        (3, "Bridge closed", False),
    ]
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(Article))).scalar() == 2
