"""Repository of search sessions (the query behind a result message's paging buttons)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import SearchSession


class SearchSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, chat_id: int, query: str, at: datetime) -> int:
        row = SearchSession(chat_id=chat_id, query=query, created_at=at)
        self._session.add(row)
        await self._session.flush()
        return row.id

    async def get(self, session_id: int) -> SearchSession | None:
        return await self._session.get(SearchSession, session_id)

    async def delete_older_than(self, moment: datetime) -> int:
        result = await self._session.execute(
            delete(SearchSession).where(SearchSession.created_at < moment)
        )
        return int(getattr(result, "rowcount", 0) or 0)
