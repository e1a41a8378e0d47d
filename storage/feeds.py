"""Feed repository: the feeds newsbot polls and their polling state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_unless_present
from storage.models import Feed


class FeedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_unless_present(
        self, url: str, at: datetime, interval_seconds: int
    ) -> tuple[Feed, bool]:
        """The feed with this URL, added now unless there; True when added by this call."""
        added = await self._session.execute(
            insert_unless_present(self._session, Feed)
            .values(
                url=url,
                added_at=at,
                next_poll_at=at,
                interval_seconds=interval_seconds,
                active=True,
                consecutive_errors=0,
            )
            .returning(Feed.id)
        )
        created = added.scalar_one_or_none() is not None
        feed = await self.by_url(url)
        assert feed is not None
        return feed, created

    async def by_url(self, url: str) -> Feed | None:
        return (
            await self._session.execute(select(Feed).where(Feed.url == url))
        ).scalar_one_or_none()

    async def get(self, feed_id: int) -> Feed | None:
        return await self._session.get(Feed, feed_id)

    async def all(self) -> list[Feed]:
        return list((await self._session.execute(select(Feed).order_by(Feed.id))).scalars())

    async def remove(self, feed_id: int) -> bool:
        result = await self._session.execute(delete(Feed).where(Feed.id == feed_id))
        return bool(getattr(result, "rowcount", 0))

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Feed]:
        """Active feeds due for a poll; their next poll moves to ``lease_until`` meanwhile."""
        query = (
            select(Feed)
            .where(Feed.active, Feed.next_poll_at <= now)
            .order_by(Feed.next_poll_at, Feed.id)
            .limit(limit)
        )
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        feeds = list((await self._session.execute(query)).scalars())
        if feeds:
            await self._session.execute(
                update(Feed)
                .where(Feed.id.in_([f.id for f in feeds]))
                .values(next_poll_at=lease_until)
            )
        return feeds
