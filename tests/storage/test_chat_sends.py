"""The chats' shared record of recent messages, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.chat_sends import ChatSendRepository
from storage.models import Chat

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def test_recorded_sends_come_back_per_chat_oldest_first_and_old_ones_are_forgotten(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        sends = ChatSendRepository(session)
        await sends.record_many([7], T0 + timedelta(seconds=2))
        await sends.record_many([7, -8], T0)
        await sends.record_many([9], T0 - timedelta(minutes=5))
    async with sessions.begin() as session:
        found = await ChatSendRepository(session).since([7, -8, 9, 10], T0 - timedelta(minutes=1))
    assert found == {7: [T0, T0 + timedelta(seconds=2)], -8: [T0]}
    async with sessions.begin() as session:
        assert await ChatSendRepository(session).forget(T0 - timedelta(minutes=2)) == 1
    async with sessions.begin() as session:
        everything = await ChatSendRepository(session).since([7, -8, 9], T0 - timedelta(days=1))
    assert sorted(everything) == [-8, 7]


async def test_a_reply_is_recorded_only_for_a_chat_alerts_go_to(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        session.add(Chat(id=-5, kind="group", created_at=T0))
    async with sessions.begin() as session:
        sends = ChatSendRepository(session)
        assert await sends.record_if_known(-5, T0)
        assert not await sends.record_if_known(6, T0)
    async with sessions.begin() as session:
        assert await ChatSendRepository(session).since([-5, 6], T0 - timedelta(1)) == {-5: [T0]}
