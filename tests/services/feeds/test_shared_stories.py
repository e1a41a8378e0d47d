"""One story carried by several feeds: each feed's followers hear of it, each chat once.

The feeds' entries are stored in one write turn (as polls that finish together are), so
the second feed's copy is recognised by its text while the first is being added.
"""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.matcher import AlertMatcher
from services.alerts.subscriptions import ChatRef
from services.feeds.follow import FollowService
from services.feeds.store import EntryWriter
from services.ingest import IngestService
from storage.models import OutboxMessage
from tests.conftest import EveryWordKnown, FixedClock
from tests.services.feeds.test_feed_service import public_dns
from tests.services.feeds.test_store import entry

BOTH = ChatRef(-1002000000010, "supergroup", "Follows both feeds")
SECOND_ONLY = ChatRef(-1002000000011, "supergroup", "Follows the second feed")
FIRST, SECOND = "https://first.example/rss", "https://second.example/rss"


async def test_a_story_in_two_feeds_alerts_each_follower_once(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    follows = FollowService(
        sessions,
        httpx.AsyncClient(),
        clock=clock,
        vocabulary=EveryWordKnown(),
        limit=5,
        resolver=public_dns,
    )
    for chat, urls in ((BOTH, (FIRST, SECOND)), (SECOND_ONLY, (SECOND,))):
        for url in urls:
            await follows.follow(chat, 0, url, "harbour", discover=False)
    feed_of = {f.url: f.feed_id for f in await follows.followed(BOTH.id)}
    matcher = AlertMatcher(sessions, clock=clock)
    assert await matcher.run_once() == 0  # places the cursors: alerts from now on

    writer = EntryWriter(IngestService(sessions, clock=clock), sessions)
    await writer.store(
        [
            entry(feed_of[FIRST], "1", "Harbour reopens", notify=True),
            entry(feed_of[SECOND], "xyz", "Harbour reopens", notify=True),
        ]
    )
    queued = 0
    while found := await matcher.run_once():
        queued += found
    assert queued == 2  # what the outbox holds: the story reached one chat by two feeds
    async with sessions() as session:
        queued = await session.execute(
            select(OutboxMessage.chat_id, func.count()).group_by(OutboxMessage.chat_id)
        )
        assert sorted(queued.all()) == sorted([(BOTH.id, 1), (SECOND_ONLY.id, 1)])
