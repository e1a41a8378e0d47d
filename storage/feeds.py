"""Feed repository: the feeds newsbot polls and their polling state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import insert_unless_present
from storage.models import Feed


class FeedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_unless_present(
        self, url: str, at: datetime, interval_seconds: int, *, public: bool = True
    ) -> tuple[Feed, bool]:
        """The feed with this URL, added now unless there; True when added by this call.

        ``public``: added by a bot administrator, not by a chat (/follow)."""
        added = await self._session.execute(
            insert_unless_present(self._session, Feed)
            .values(
                url=url,
                added_at=at,
                next_poll_at=at,
                interval_seconds=interval_seconds,
                active=True,
                consecutive_errors=0,
                public=public,
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

    async def claim_due(
        self, now: datetime, lease_until: datetime, limit: int, token: str
    ) -> list[Feed]:
        """Claim up to ``limit`` active due feeds for ``token`` until ``lease_until``.

        One UPDATE ... RETURNING: on PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED,
        so concurrent claimers take different feeds without waiting on each other; SQLite
        has a single writer, and the statement re-checks that each feed is still due. The
        claim's expiry is next_poll_at: a feed whose poller died comes due again by itself.
        """
        due = (Feed.active, Feed.next_poll_at <= now)
        pick = select(Feed.id).where(*due).order_by(Feed.next_poll_at, Feed.id).limit(limit)
        if self._session.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        claimed = await self._session.scalars(
            update(Feed)
            .where(Feed.id.in_(pick.scalar_subquery()), *due)
            .values(claim=token, next_poll_at=lease_until)
            .returning(Feed),
            execution_options={"synchronize_session": False},
        )
        return sorted(claimed, key=lambda feed: feed.id)

    async def claim_one(
        self, feed_id: int, now: datetime, lease_until: datetime, token: str
    ) -> Feed | None:
        """Claim one feed whatever its schedule, unless another poll holds it right now."""
        unclaimed = or_(Feed.claim.is_(None), Feed.next_poll_at <= now)
        return (
            await self._session.scalars(
                update(Feed)
                .where(Feed.id == feed_id, unclaimed)
                .values(claim=token, next_poll_at=lease_until)
                .returning(Feed),
                execution_options={"synchronize_session": False},
            )
        ).one_or_none()

    async def record(self, outcomes: Sequence[Mapping[str, Any]]) -> int | None:
        """Write polls' outcomes (FEED_STATE columns, plus ``id`` and ``claim``) in one go.

        A row is written only while its claim still stands: a poll that outlived its lease
        may have been claimed and polled again since, and that newer outcome wins. Returns
        how many rows were written, when the driver says.
        """
        if not outcomes:
            return 0
        statement = (
            update(Feed)
            .where(Feed.id == bindparam("b_id"), Feed.claim == bindparam("b_claim"))
            .values({**{name: bindparam(name) for name in FEED_STATE}, "claim": None})
        )
        rows = [
            {"b_id": o["id"], "b_claim": o["claim"], **{n: o[n] for n in FEED_STATE}}
            for o in outcomes
        ]
        connection = await self._session.connection()
        written = (await connection.execute(statement, rows)).rowcount
        return written if written is not None and written >= 0 else None

    async def release(self, claims: Sequence[tuple[int, str]], now: datetime) -> None:
        """Give feeds back unpolled (their polls were cut short): due again at once."""
        if not claims:
            return
        statement = (
            update(Feed)
            .where(Feed.id == bindparam("b_id"), Feed.claim == bindparam("b_claim"))
            .values(claim=None, next_poll_at=now)
        )
        connection = await self._session.connection()
        await connection.execute(statement, [{"b_id": i, "b_claim": c} for i, c in claims])


# The polling state a poll's outcome sets (FeedRepository.record).
FEED_STATE = (
    "title",
    "site_url",
    "etag",
    "last_modified",
    "body_hash",
    "active",
    "consecutive_errors",
    "last_error",
    "last_polled_at",
    "last_success_at",
    "next_poll_at",
)
