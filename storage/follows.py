"""Repositories for a chat's own feeds: follows, the feed item log and pending choices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.chunks import id_chunks
from storage.db import insert_unless_present
from storage.fingerprints import Version, active_version
from storage.models import Chat, Feed, FeedFollow, FeedItem, FollowChoice


@dataclass(frozen=True, slots=True)
class ItemRow:
    seq: int
    feed_id: int
    article_id: int
    notify: bool
    created_at: datetime


class FollowRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, follow: FeedFollow) -> FeedFollow | None:
        """Insert the follow; None when the chat already follows that feed there."""
        values = {
            column.name: getattr(follow, column.key)
            for column in FeedFollow.__table__.columns
            if column.name != "id"
        }
        added = await self._session.execute(
            insert_unless_present(self._session, FeedFollow)
            .values(**values)
            .returning(FeedFollow.id)
        )
        follow_id = added.scalar_one_or_none()
        return None if follow_id is None else await self._session.get(FeedFollow, follow_id)

    async def find(self, chat_id: int, topic: int, feed_id: int) -> FeedFollow | None:
        return (
            await self._session.execute(
                select(FeedFollow).where(
                    FeedFollow.chat_id == chat_id,
                    FeedFollow.topic == topic,
                    FeedFollow.feed_id == feed_id,
                )
            )
        ).scalar_one_or_none()

    async def for_chat(self, chat_id: int) -> list[tuple[FeedFollow, Feed]]:
        """The chat's follows with their feeds, oldest first."""
        result = await self._session.execute(
            select(FeedFollow, Feed)
            .join(Feed, Feed.id == FeedFollow.feed_id)
            .where(FeedFollow.chat_id == chat_id)
            .order_by(FeedFollow.id)
        )
        return [(follow, feed) for follow, feed in result.all()]

    async def count_for_chat(self, chat_id: int) -> int:
        result = await self._session.execute(
            select(func.count()).select_from(FeedFollow).where(FeedFollow.chat_id == chat_id)
        )
        return int(result.scalar_one())

    async def remove(self, chat_id: int, follow_id: int | None) -> list[int]:
        """Remove one follow of the chat (or all, given None); the feeds they were of."""
        condition = FeedFollow.chat_id == chat_id
        if follow_id is not None:
            condition = and_(condition, FeedFollow.id == follow_id)
        removed = await self._session.execute(
            delete(FeedFollow).where(condition).returning(FeedFollow.feed_id)
        )
        return [int(feed_id) for feed_id in removed.scalars()]

    async def remove_feed(self, feed_id: int) -> None:
        """A feed removed by a bot administrator: nobody follows it any more."""
        await self._session.execute(delete(FeedFollow).where(FeedFollow.feed_id == feed_id))
        await self._session.execute(delete(FeedItem).where(FeedItem.feed_id == feed_id))

    async def retire_unfollowed(self, feed_ids: Iterable[int]) -> None:
        """Stop polling those of these chat feeds that nobody follows any more.

        Their claims go too: a poll under way would otherwise record the feed as active
        again with its outcome (FeedRepository.record writes only while a claim stands).
        """
        followed = select(FeedFollow.feed_id).where(FeedFollow.feed_id == Feed.id).exists()
        await self._session.execute(
            update(Feed)
            .where(Feed.id.in_(sorted(set(feed_ids))), Feed.public.is_(False), ~followed)
            .values(active=False, claim=None)
            .execution_options(synchronize_session=False)
        )

    async def all_active(self) -> list[FeedFollow]:
        """Follows of chats that can currently receive messages."""
        result = await self._session.execute(
            select(FeedFollow).join(Chat, Chat.id == FeedFollow.chat_id).where(Chat.active)
        )
        return list(result.scalars())

    async def version(self) -> Version:
        """Changes whenever the active follows change (see active_version)."""
        return await active_version(self._session, FeedFollow)

    async def move_chat(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: its follows go with it (one already there wins)."""
        taken = select(FeedFollow.feed_id).where(FeedFollow.chat_id == new_id).scalar_subquery()
        await self._session.execute(
            delete(FeedFollow).where(FeedFollow.chat_id == old_id, FeedFollow.feed_id.in_(taken))
        )
        await self._session.execute(
            update(FeedFollow).where(FeedFollow.chat_id == old_id).values(chat_id=new_id)
        )


class FeedItemRepository:
    """The log of (feed, article) pairs, in the order feeds first carried them."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(self, rows: Sequence[dict[str, Any]]) -> int:
        """Log pairs (feed_id, article_id, notify, created_at); one already there stays.

        Pairs already logged are left out before inserting, not only by ON CONFLICT: on
        PostgreSQL a conflicting row still takes a sequence number, and every hole in
        ``seq`` holds the matcher back for a while (it may be a transaction not yet
        committed). A feed's entries come round at every poll that changed it.
        Returns how many pairs were new.
        """
        new: list[dict[str, Any]] = []
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            known = await self._session.execute(
                select(FeedItem.feed_id, FeedItem.article_id).where(
                    FeedItem.feed_id.in_({row["feed_id"] for row in chunk}),
                    FeedItem.article_id.in_({row["article_id"] for row in chunk}),
                )
            )
            logged = {(int(feed), int(article)) for feed, article in known.all()}
            new += [r for r in chunk if (r["feed_id"], r["article_id"]) not in logged]
        if new:
            # Still ON CONFLICT: another process may log the same pair (another feed's
            # poller never does: a feed is polled by one claim at a time).
            await self._session.execute(insert_unless_present(self._session, FeedItem), new)
        return len(new)

    async def after(self, seq: int, limit: int) -> list[ItemRow]:
        result = await self._session.execute(
            select(FeedItem).where(FeedItem.seq > seq).order_by(FeedItem.seq).limit(limit)
        )
        return [
            ItemRow(i.seq, i.feed_id, i.article_id, i.notify, i.created_at)
            for i in result.scalars()
        ]

    async def last_seq(self) -> int:
        result = await self._session.execute(select(func.max(FeedItem.seq)))
        return int(result.scalar_one() or 0)

    async def public_feeds(self, feed_ids: Iterable[int]) -> set[int]:
        """Which of these feeds are public (added by a bot administrator)."""
        found: set[int] = set()
        for chunk in id_chunks(feed_ids):
            result = await self._session.execute(
                select(Feed.id).where(Feed.id.in_(chunk), Feed.public)
            )
            found.update(int(feed_id) for feed_id in result.scalars())
        return found


class FollowChoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, choice: FollowChoice, prune_before: datetime) -> FollowChoice:
        """Keep a pending choice (and forget those older than ``prune_before``)."""
        await self._session.execute(
            delete(FollowChoice).where(FollowChoice.created_at < prune_before)
        )
        self._session.add(choice)
        await self._session.flush()
        return choice

    async def get(self, choice_id: int) -> FollowChoice | None:
        return await self._session.get(FollowChoice, choice_id)

    async def remove(self, choice_id: int) -> None:
        await self._session.execute(delete(FollowChoice).where(FollowChoice.id == choice_id))
