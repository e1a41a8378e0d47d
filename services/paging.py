"""Remembering a chat's searches so paging buttons carry only a short, chat-bound id."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.search_sessions import SearchSessionRepository

# Buttons older than this answer "expired"; their rows are pruned.
SESSION_LIFETIME = timedelta(days=7)


class PagingService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = session_factory
        self._clock = clock

    async def remember(self, chat_id: int, query: str) -> int:
        """Store a chat's query; return the id its buttons will carry."""
        async with self._sessions.begin() as session:
            return await SearchSessionRepository(session).add(chat_id, query, self._clock())

    async def recall(self, session_id: int, chat_id: int) -> str | None:
        """The query behind a button, if it belongs to this chat and has not expired."""
        async with self._sessions() as session:
            row = await SearchSessionRepository(session).get(session_id)
        if row is None or row.chat_id != chat_id:
            return None
        if self._clock() - row.created_at > SESSION_LIFETIME:
            return None
        return row.query

    async def prune(self) -> int:
        """Forget sessions whose buttons have expired."""
        async with self._sessions.begin() as session:
            repo = SearchSessionRepository(session)
            return await repo.delete_older_than(self._clock() - SESSION_LIFETIME)
