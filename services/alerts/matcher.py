"""Turns new articles into queued alerts: the article event log in, outbox rows out."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.matching import Recipient, SubscriptionIndex, SubscriptionRule
from services.alerts.schedule import due_time
from services.alerts.subscriptions import prefs_of
from storage.alerts import (
    ChatRepository,
    CursorRepository,
    OutboxRepository,
    SubscriptionRepository,
)
from storage.articles import ADDED, ArticleRepository
from storage.event_log import GapTracker
from storage.follows import FeedItemRepository, FollowRepository

log = logging.getLogger(__name__)

CURSOR = "alert-matcher"
# The feed item log's own cursor: entries new to a feed, routed by who may hear of them.
FEED_CURSOR = "feed-matcher"
NEW_CURSOR = -1  # where the cursor stands before its first run
# An article to match: its id, when it was seen (rules made later skip it), and the
# indexes to match it against (archive-wide subscriptions, a feed's follows; None: not those).
_Work = tuple[int, datetime, "SubscriptionIndex | None", "SubscriptionIndex | None"]
# Subscriptions are re-read when their version changes, and at least this often (a safety net).
SUBSCRIPTIONS_MAX_AGE_SECONDS = 5.0


class AlertMatcher:
    """Matches every new article against every subscription exactly once.

    Two logs are followed: the article event log, for articles that came from no feed
    (they reach archive-wide subscriptions), and the feed item log, for entries new to a
    feed (its followers, and archive-wide subscriptions when the feed is public).

    The cursor row is locked for the transaction that also writes the outbox rows, so two
    processes never match the same events concurrently, and the unique (chat, topic,
    article) key makes a repeated match harmless.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        batch_size: int = 500,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._monotonic = monotonic
        self._batch_size = batch_size
        self._gaps = GapTracker(monotonic)
        self._index: SubscriptionIndex | None = None
        self._index_key: tuple[Any, ...] = ()
        self._index_loaded_at = 0.0
        self._feed_gaps = GapTracker(monotonic)
        self._follow_index: dict[int, SubscriptionIndex] | None = None
        self._follow_key: tuple[Any, ...] = ()
        self._follows_loaded_at = 0.0

    async def run_once(self) -> int:
        """Match the next batch of new articles and of new feed items; return how many
        alerts were queued."""
        return await self._match_articles() + await self._match_feed_items()

    async def _match_articles(self) -> int:
        """Articles that came from no feed (ingested files): archive-wide subscriptions."""
        async with self._sessions.begin() as session:
            cursors = CursorRepository(session)
            articles = ArticleRepository(session)
            position = await cursors.lock(CURSOR, initial=NEW_CURSOR)
            if position == NEW_CURSOR:
                # A new installation alerts from now on, not about the whole archive. (Not
                # "position 0": that is also where a cursor over an empty archive stands.)
                position = await articles.last_event_seq()
                await cursors.move(CURSOR, position)
                return 0
            events = await articles.events_after(position, self._batch_size)
            if not events:
                return 0
            fresh = [e for e in events if e.kind == ADDED and e.notify]
            queued = 0
            if fresh:
                index = await self._subscriptions(session)
                if index.size:
                    queued = await self._queue(
                        session,
                        [(e.article_id, e.created_at, index, None) for e in fresh],
                    )
            await cursors.move(CURSOR, self._gaps.advance(position, [e.seq for e in events]))
        return queued

    async def _match_feed_items(self) -> int:
        """Entries new to a feed: its followers, and for a public feed every subscription."""
        async with self._sessions.begin() as session:
            cursors = CursorRepository(session)
            items = FeedItemRepository(session)
            position = await cursors.lock(FEED_CURSOR, initial=NEW_CURSOR)
            if position == NEW_CURSOR:
                position = await items.last_seq()
                await cursors.move(FEED_CURSOR, position)
                return 0
            logged = await items.after(position, self._batch_size)
            if not logged:
                return 0
            fresh = [item for item in logged if item.notify]
            queued = 0
            if fresh:
                public = await items.public_feeds(item.feed_id for item in fresh)
                subscriptions = await self._subscriptions(session)
                follows = await self._follows(session)
                work = [
                    (
                        item.article_id,
                        item.created_at,
                        subscriptions if item.feed_id in public else None,
                        follows.get(item.feed_id),
                    )
                    for item in fresh
                ]
                queued = await self._queue(session, [w for w in work if w[2] or w[3]])
            await cursors.move(
                FEED_CURSOR, self._feed_gaps.advance(position, [i.seq for i in logged])
            )
        return queued

    async def _queue(self, session: AsyncSession, work: list[_Work]) -> int:
        """Queue an alert for each (chat, topic) any of the given indexes finds, once."""
        if not work:
            return 0
        stored = await ArticleRepository(session).get_many([w[0] for w in work])
        matches: list[tuple[Any, list[Recipient]]] = []
        for article_id, seen_at, *indexes in work:
            article = stored.get(article_id)
            if article is None:
                continue
            text = f"{article.summary}\n{article.body}"
            found: dict[tuple[int, int], Recipient] = {}
            for index in indexes:
                if index is not None and index.size:
                    for r in index.recipients(article.title, text, seen_at, article.source):
                        found.setdefault((r.chat_id, r.topic), r)
            matches.append((article, list(found.values())))
        # One read for every chat of the batch: a burst reaches thousands of them.
        chats = await ChatRepository(session).get_many(
            recipient.chat_id for _, found_ in matches for recipient in found_
        )
        now = self._clock()
        due = {  # a paused chat has no due time: nothing is queued for it
            chat_id: due_time(prefs_of(chat), now) for chat_id, chat in chats.items() if chat.active
        }
        rows: list[dict[str, Any]] = [
            {
                "chat_id": recipient.chat_id,
                "topic": recipient.topic,
                "article_id": article.id,
                "status": "pending",
                "due_at": due[recipient.chat_id],
                "attempts": 0,
                "created_at": now,
            }
            for article, found_ in matches
            for recipient in found_
            if recipient.chat_id in due
        ]
        await OutboxRepository(session).enqueue(rows)
        if rows:
            log.info("queued %d alerts for %d new articles", len(rows), len(work))
        return len(rows)

    async def _follows(self, session: AsyncSession) -> dict[int, SubscriptionIndex]:
        """Each followed feed's follows, as an index of rules like subscriptions'."""
        repo = FollowRepository(session)
        key = await repo.version()
        age = self._monotonic() - self._follows_loaded_at
        if (
            self._follow_index is None
            or key != self._follow_key
            or age > SUBSCRIPTIONS_MAX_AGE_SECONDS
        ):
            by_feed: dict[int, list[SubscriptionRule]] = defaultdict(list)
            for f in await repo.all_active():
                by_feed[f.feed_id].append(
                    SubscriptionRule(
                        f.id,
                        f.chat_id,
                        f.topic,
                        tuple(f.include_terms.split()),
                        tuple(f.exclude_terms.split()),
                        f.created_at,
                    )
                )
            self._follow_index = {
                feed_id: SubscriptionIndex(rules) for feed_id, rules in by_feed.items()
            }
            self._follow_key, self._follows_loaded_at = key, self._monotonic()
        return self._follow_index

    async def _subscriptions(self, session: AsyncSession) -> SubscriptionIndex:
        repo = SubscriptionRepository(session)
        key = await repo.version()
        age = self._monotonic() - self._index_loaded_at
        if self._index is None or key != self._index_key or age > SUBSCRIPTIONS_MAX_AGE_SECONDS:
            rules = [
                SubscriptionRule(
                    s.id,
                    s.chat_id,
                    s.topic,
                    tuple(s.include_terms.split()),
                    tuple(s.exclude_terms.split()),
                    s.created_at,
                    tuple(s.source_terms.split()),
                )
                for s in await repo.all_active()
            ]
            self._index = SubscriptionIndex(rules)
            self._index_key, self._index_loaded_at = key, self._monotonic()
        return self._index
