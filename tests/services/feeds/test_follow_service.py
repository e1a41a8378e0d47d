"""FollowService on its own: an httpx MockTransport for the web, a real database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.subscriptions import ChatRef
from services.feeds.follow import FollowService, FollowStatus, Refusal
from services.feeds.service import FeedService
from services.ingest import IngestService
from storage.models import Feed
from tests.conftest import EveryWordKnown, FixedClock
from tests.services.feeds.test_feed_service import public_dns, rss

GROUP = ChatRef(-1002000000010, "supergroup", "Group")
PAGE = b"""<html><head>
<link rel="alternate" type="application/atom+xml" href="/atom.xml" title="Atom">
<link rel="alternate" type="application/rss+xml" href="http://10.0.0.1/inside.rss" title="Inside">
<link rel="alternate" type="application/rss+xml" href="https://news.example/rss.xml">
<link rel="stylesheet" href="/style.css">
</head><body>Hi</body></html>"""


def site(request: httpx.Request) -> httpx.Response:
    if request.url.path in ("/rss.xml", "/atom.xml"):
        return httpx.Response(200, content=rss(("a", "Alpha", None)))
    if request.url.path == "/":
        return httpx.Response(200, content=PAGE, headers={"Content-Type": "text/html"})
    return httpx.Response(404)


@pytest.fixture
def follows(sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> FollowService:
    client = httpx.AsyncClient(transport=httpx.MockTransport(site))
    return FollowService(
        sessions, client, clock=clock, vocabulary=EveryWordKnown(), limit=2, resolver=public_dns
    )


async def test_a_page_offers_only_the_feeds_the_guard_allows(follows: FollowService) -> None:
    result = await follows.follow(GROUP, 0, "https://news.example/", "", 5)
    assert result.status == FollowStatus.CHOOSE and result.choice_id is not None
    assert [(c.url, c.title) for c in result.candidates] == [
        ("https://news.example/atom.xml", "Atom"),
        ("https://news.example/rss.xml", None),
    ]
    pending = await follows.pending_choice(result.choice_id)
    assert pending is not None
    assert (await follows.choose(pending, 1, 6)).refusal == Refusal.CHOICE_GONE
    assert (await follows.choose(pending, 2, 5)).refusal == Refusal.CHOICE_GONE
    chosen = await follows.choose(pending, 0, 5)
    assert chosen.status == FollowStatus.ADDED and chosen.followed is not None
    assert chosen.followed.url == "https://news.example/atom.xml"
    assert await follows.pending_choice(result.choice_id) is None


async def test_the_words_typed_with_follow_go_with_the_feed_picked(
    follows: FollowService,
) -> None:
    result = await follows.follow(GROUP, 0, "https://news.example/", "iran -sport", 5)
    assert result.status == FollowStatus.CHOOSE and result.choice_id is not None
    pending = await follows.pending_choice(result.choice_id)
    assert pending is not None
    chosen = await follows.choose(pending, 1, 5)
    assert chosen.status == FollowStatus.ADDED and chosen.followed is not None
    assert chosen.followed.url == "https://news.example/rss.xml"
    assert (chosen.followed.include, chosen.followed.exclude) == (("iran",), ("sport",))
    assert chosen.followed.query == "iran -sport"


async def test_an_opml_import_follows_without_fetching_within_the_limit(
    follows: FollowService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    urls = ["https://a.example/1.xml", "https://b.example/2.xml", "https://c.example/3.xml"]
    results = [await follows.follow(GROUP, 0, url, discover=False) for url in urls]
    assert [r.status for r in results] == [
        FollowStatus.ADDED,
        FollowStatus.ADDED,
        FollowStatus.LIMIT,
    ]
    again = await follows.follow(GROUP, 0, urls[0], discover=False)
    assert again.status == FollowStatus.LIMIT  # the limit is checked first, as for /follow
    refused = await follows.follow(ChatRef(1, "private"), 0, "http://192.168.1.1/x", discover=False)
    assert (refused.refusal, refused.detail) == (
        Refusal.ADDRESS,
        "192.168.1.1 is a private address",
    )
    async with sessions() as session:
        feeds = (await session.execute(select(Feed).order_by(Feed.id))).scalars().all()
    assert [(f.url, f.public) for f in feeds] == [(urls[0], False), (urls[1], False)]


async def test_words_without_letters_are_refused(follows: FollowService) -> None:
    result = await follows.follow(GROUP, 0, "https://news.example/rss.xml", "-- !!")
    assert result.refusal == Refusal.WORDS


async def test_two_follows_at_once_stay_within_the_limit(
    follows: FollowService, sessions: async_sessionmaker[AsyncSession]
) -> None:
    urls = [f"https://n{n}.example/rss" for n in range(5)]
    results = await asyncio.gather(*(follows.follow(GROUP, 0, url, discover=False) for url in urls))
    statuses = sorted(str(r.status) for r in results)
    assert statuses == ["added", "added", "limit", "limit", "limit"]
    assert len(await follows.followed(GROUP.id)) == 2


async def test_a_feed_removed_by_an_admin_is_no_longer_followed(
    follows: FollowService,
    sessions: async_sessionmaker[AsyncSession],
    clock: FixedClock,
) -> None:
    result = await follows.follow(GROUP, 0, "https://news.example/rss.xml")
    assert result.followed is not None
    client = httpx.AsyncClient(transport=httpx.MockTransport(site))
    feeds = FeedService(sessions, IngestService(sessions, clock=clock), client, clock=clock)
    assert await feeds.remove(result.followed.feed_id)
    assert await follows.followed(GROUP.id) == []


async def test_a_choice_expires_after_a_day(follows: FollowService, clock: FixedClock) -> None:
    result = await follows.follow(GROUP, 0, "https://news.example/", "", 5)
    assert result.choice_id is not None
    clock.now += timedelta(hours=25)
    assert await follows.pending_choice(result.choice_id) is None
    assert await follows.followed(GROUP.id) == []


async def test_an_admin_adding_a_retired_chat_feed_makes_it_public_and_polled_again(
    follows: FollowService, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    result = await follows.follow(GROUP, 0, "https://news.example/rss.xml")
    assert result.followed is not None
    assert await follows.unfollow(GROUP.id, result.followed.id) == 1
    client = httpx.AsyncClient(transport=httpx.MockTransport(site))
    feeds = FeedService(
        sessions, IngestService(sessions, clock=clock), client, clock=clock, resolver=public_dns
    )
    async with sessions() as session:
        retired = await session.get(Feed, result.followed.feed_id)
        assert retired is not None and (retired.active, retired.public) == (False, False)
    added = await feeds.add("https://news.example/rss.xml")
    assert added.feed is not None and added.feed.active and not added.created
    async with sessions() as session:
        public = await session.get(Feed, result.followed.feed_id)
        assert public is not None and public.public


async def test_a_url_too_long_to_store_is_refused_not_cut_short(follows: FollowService) -> None:
    url = "https://news.example/" + "p" * 3000
    result = await follows.follow(GROUP, 0, url, "", 5, discover=False)
    assert result.status == FollowStatus.REFUSED and result.refusal == Refusal.ADDRESS
    assert result.detail == "the URL is longer than 2048 characters"
    assert await follows.followed(GROUP.id) == []
