"""Updates for one chat handled side by side: upserts that never raise, on SQLite and PostgreSQL.

Each racer gets an engine (a connection pool) of its own, as two processes would have, and
they start together; the outcome must be the same as handling them one after the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from services.alerts.subscriptions import (
    MAX_SUBSCRIPTIONS_PER_CHAT,
    ChatRef,
    SubscriptionService,
)
from services.feeds.service import FeedService
from services.ingest import IngestService
from storage.db import create_session_factory
from storage.search_index import SearchIndex
from tests.conftest import EngineFactory, FixedClock

GROUP = ChatRef(-4000001001, "group", "Readers")
SUPERGROUP_ID = -1004000001001
ROUNDS = 8


def services(engine_factory: EngineFactory, clock: FixedClock, n: int) -> list[SubscriptionService]:
    return [
        SubscriptionService(
            create_session_factory(engine_factory.new()), SearchIndex(None), clock=clock
        )
        for _ in range(n)
    ]


async def test_both_migration_messages_at_once_move_the_chat_once(
    engine_factory: EngineFactory, clock: FixedClock
) -> None:
    first, second = services(engine_factory, clock, 2)
    for round_ in range(ROUNDS):
        old, new = GROUP.id - round_, SUPERGROUP_ID - round_
        group = ChatRef(old, "group", "Readers")
        made = (await first.subscribe(group, 0, f"word{round_}", 1)).subscription
        assert made is not None
        await first.set_digest(group, "daily")
        await asyncio.gather(first.chat_migrated(old, new), second.chat_migrated(old, new))
        assert [s.id for s in await first.list_for_chat(new)] == [made.id]
        assert await first.list_for_chat(old) == []
        moved = await first.settings(new)
        assert moved.prefs.digest == "daily" and moved.active
        assert not (await first.settings(old)).active


async def test_the_same_subscribe_twice_at_once_stores_one_subscription(
    engine_factory: EngineFactory, clock: FixedClock
) -> None:
    first, second = services(engine_factory, clock, 2)
    for round_ in range(ROUNDS):
        # A chat's first command (its row is created) and a known chat's (it exists).
        chat = ChatRef(700 + round_ // 2, "private")
        words = f"iran word{round_}"
        results = await asyncio.gather(
            first.subscribe(chat, 0, words, 1), second.subscribe(chat, 0, words, 1)
        )
        ids = {r.subscription.id for r in results if r.subscription is not None}
        assert len(ids) == 1
        assert ids <= {s.id for s in await first.list_for_chat(chat.id)}
    assert len(await first.list_for_chat(700)) == 2


async def test_subscribing_side_by_side_never_passes_the_limit(
    engine_factory: EngineFactory, clock: FixedClock
) -> None:
    racers = services(engine_factory, clock, 4)
    chat = ChatRef(800, "private")
    for n in range(MAX_SUBSCRIPTIONS_PER_CHAT - 2):
        await racers[0].subscribe(chat, 0, f"early{n}", 1)
    results = await asyncio.gather(
        *(racer.subscribe(chat, 0, f"late{n}", 1) for n, racer in enumerate(racers))
    )
    assert sum(r.subscription is not None for r in results) == 2
    assert sum(r.refusal is not None for r in results) == 2
    assert len(await racers[0].list_for_chat(chat.id)) == MAX_SUBSCRIPTIONS_PER_CHAT


async def test_settings_changed_side_by_side_in_a_new_chat_all_stick(
    engine_factory: EngineFactory, clock: FixedClock
) -> None:
    first, second, third = services(engine_factory, clock, 3)
    for round_ in range(ROUNDS):
        chat = ChatRef(-900 - round_, "group", "New")
        await asyncio.gather(
            first.set_digest(chat, "hourly"),
            second.set_quiet_hours(chat, (22 * 60, 7 * 60)),
            third.set_timezone(chat, "Europe/Berlin"),
        )
        prefs = (await first.settings(chat.id)).prefs
        assert (prefs.digest, prefs.quiet_start, prefs.quiet_end, prefs.timezone) == (
            "hourly",
            22 * 60,
            7 * 60,
            "Europe/Berlin",
        )


async def test_leaving_and_migrating_at_once_leaves_one_consistent_state(
    engine_factory: EngineFactory, clock: FixedClock
) -> None:
    first, second = services(engine_factory, clock, 2)
    group = ChatRef(-950, "group", "Readers")
    await first.subscribe(group, 0, "iran", 1)
    await asyncio.gather(
        first.chat_migrated(group.id, -100950), second.chat_left(group.id, "bot status: left")
    )
    assert len(await first.list_for_chat(-100950)) == 1
    assert not (await first.settings(group.id)).active


async def test_the_same_feed_added_twice_at_once_is_stored_once(
    engine_factory: EngineFactory, clock: FixedClock
) -> None:
    async def public_dns(host: str, port: int) -> Sequence[str]:
        return ["93.184.216.34"]

    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(304)))
    racers = []
    for _ in range(2):
        sessions = create_session_factory(engine_factory.new())
        ingest = IngestService(sessions, clock=clock)
        racers.append(FeedService(sessions, ingest, client, clock=clock, resolver=public_dns))
    for round_ in range(ROUNDS):
        url = f"https://news.example/{round_}.xml"
        results = await asyncio.gather(*(racer.add(url) for racer in racers))
        assert {r.feed.id for r in results if r.feed is not None} == {
            f.id for f in await racers[0].list_feeds() if f.url == url
        }
        assert sorted(r.created for r in results) == [False, True]
    await client.aclose()
