"""The matcher re-reads subscriptions when their version changes: it must change whenever
the active subscriptions do, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.alerts import ChatRepository, CursorRepository, SubscriptionRepository
from storage.feeds import FeedRepository
from storage.follows import FollowRepository
from storage.models import FeedFollow, Subscription

WHEN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
GROUP, SUPERGROUP, PRIVATE = -4000001001, -1004000001001, 501


async def _version(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, ...]:
    async with sessions() as session:
        return await SubscriptionRepository(session).version()


async def _setup(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        chats = ChatRepository(session)
        subscriptions = SubscriptionRepository(session)
        for chat_id, kind in ((GROUP, "group"), (PRIVATE, "private")):
            await chats.ensure(chat_id, kind, None, WHEN)
            await subscriptions.add(
                Subscription(chat_id=chat_id, topic=0, query="", created_at=WHEN)
            )


async def test_pausing_and_resuming_a_chat_changes_the_version(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _setup(sessions)
    original = await _version(sessions)
    async with sessions.begin() as session:
        await ChatRepository(session).set_active(GROUP, False, "kicked")
    paused = await _version(sessions)
    assert paused != original
    async with sessions.begin() as session:  # one chat back, another gone: same count
        await ChatRepository(session).set_active(GROUP, True, None)
        await ChatRepository(session).set_active(PRIVATE, False, "blocked")
    assert await _version(sessions) not in (original, paused)


async def test_migrating_a_group_changes_the_version(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _setup(sessions)
    before = await _version(sessions)
    async with sessions.begin() as session:
        await ChatRepository(session).migrate(GROUP, SUPERGROUP, WHEN)
    assert await _version(sessions) != before


async def test_moving_a_topic_changes_the_version(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _setup(sessions)
    async with sessions.begin() as session:
        await SubscriptionRepository(session).move_topic(GROUP, 0, 7)
    before = await _version(sessions)
    async with sessions.begin() as session:
        await SubscriptionRepository(session).move_topic(GROUP, 7, 0)
    assert await _version(sessions) != before


async def test_an_unchanged_set_keeps_its_version(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _setup(sessions)
    assert await _version(sessions) == await _version(sessions)


async def test_a_new_cursor_starts_where_asked_and_keeps_its_position(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        assert await CursorRepository(session).lock("c", initial=-1) == -1
        await CursorRepository(session).move("c", 0)
    async with sessions.begin() as session:
        assert await CursorRepository(session).lock("c", initial=-1) == 0


async def test_followed_feeds_have_a_version_of_their_own(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _setup(sessions)

    async def follows_version() -> tuple[int, ...]:
        async with sessions() as session:
            return await FollowRepository(session).version()

    empty, subscriptions = await follows_version(), await _version(sessions)
    async with sessions.begin() as session:
        feed, _created = await FeedRepository(session).add_unless_present(
            "https://news.example/rss", WHEN, 600, public=False
        )
        await FollowRepository(session).add(
            FeedFollow(
                chat_id=GROUP,
                topic=0,
                feed_id=feed.id,
                query="",
                include_terms="",
                exclude_terms="",
                created_at=WHEN,
            )
        )
    followed = await follows_version()
    assert followed != empty and await _version(sessions) == subscriptions
    async with sessions.begin() as session:
        await ChatRepository(session).set_active(GROUP, False, "kicked")
    assert await follows_version() not in (empty, followed)
