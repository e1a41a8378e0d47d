"""Turns new articles into queued alerts: the article event log in, outbox rows out."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.matching import Recipient, SubscriptionIndex, SubscriptionRule
from services.alerts.schedule import due_time
from services.alerts.subscriptions import prefs_of
from services.alerts.tailing import NEW_CURSOR, CachedIndex, LogTail
from storage.alerts import ChatRepository, OutboxRepository, SubscriptionRepository
from storage.articles import ADDED, ArticleRepository, EventRow
from storage.follows import FeedItemRepository, FollowRepository, ItemRow
from storage.models import FeedFollow, Subscription

__all__ = ["CURSOR", "FEED_CURSOR", "NEW_CURSOR", "AlertMatcher"]  # NEW_CURSOR: from tailing

log = logging.getLogger(__name__)

CURSOR = "alert-matcher"
# The feed item log's own cursor: entries new to a feed, routed by who may hear of them.
FEED_CURSOR = "feed-matcher"
# An article to match: its id, when it was seen (rules made later skip it), and the
# indexes to match it against (archive-wide subscriptions, a feed's follows; None: not those).
_Work = tuple[int, datetime, "SubscriptionIndex | None", "SubscriptionIndex | None"]


class AlertMatcher:
    """Matches every new article against every subscription exactly once.

    Two logs are followed: the article event log, for articles that came from no feed
    (they reach archive-wide subscriptions), and the feed item log, for entries new to a
    feed (its followers, and archive-wide subscriptions when the feed is public).

    Each cursor row is locked for the transaction that also writes the outbox rows, so two
    processes never match the same entries concurrently, and the unique (chat, topic,
    article) key makes a repeated match harmless: an article two feeds carry, or one that
    matches both a subscription and a follow, reaches each chat once.
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
        self._batch_size = batch_size
        self._articles = LogTail[EventRow](
            CURSOR,
            lambda session: ArticleRepository(session).last_event_seq(),
            lambda session, seq, limit: ArticleRepository(session).events_after(seq, limit),
            monotonic,
        )
        self._feed_items = LogTail[ItemRow](
            FEED_CURSOR,
            lambda session: FeedItemRepository(session).last_seq(),
            lambda session, seq, limit: FeedItemRepository(session).after(seq, limit),
            monotonic,
        )
        self._subscriptions = CachedIndex(
            lambda session: SubscriptionRepository(session).version(),
            _subscription_index,
            monotonic,
        )
        self._follows = CachedIndex(
            lambda session: FollowRepository(session).version(), _follow_indexes, monotonic
        )

    async def run_once(self) -> int:
        """Match the next batch of new articles and of new feed items; return how many
        alerts were queued."""
        async with self._sessions.begin() as session:
            queued = await self._articles.read(
                session, self._batch_size, lambda events: self._match_articles(session, events)
            )
        async with self._sessions.begin() as session:
            queued += await self._feed_items.read(
                session, self._batch_size, lambda items: self._match_feed_items(session, items)
            )
        return queued

    async def _match_articles(self, session: AsyncSession, events: Sequence[EventRow]) -> int:
        """Articles that came from no feed (ingested files): archive-wide subscriptions."""
        fresh = [e for e in events if e.kind == ADDED and e.notify]
        if not fresh:
            return 0
        index = await self._subscriptions.get(session)
        if not index.size:
            return 0
        return await self._queue(
            session, [(e.article_id, e.created_at, index, None) for e in fresh]
        )

    async def _match_feed_items(self, session: AsyncSession, logged: Sequence[ItemRow]) -> int:
        """Entries new to a feed: its followers, and for a public feed every subscription."""
        fresh = [item for item in logged if item.notify]
        if not fresh:
            return 0
        public = await FeedItemRepository(session).public_feeds(item.feed_id for item in fresh)
        subscriptions = await self._subscriptions.get(session)
        follows = await self._follows.get(session)
        work = [
            (
                item.article_id,
                item.created_at,
                subscriptions if item.feed_id in public else None,
                follows.get(item.feed_id),
            )
            for item in fresh
        ]
        return await self._queue(session, [w for w in work if w[2] or w[3]])

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
        # Keyed as the outbox is: one story logged by two feeds in one batch is one alert.
        rows: dict[tuple[int, int, int], dict[str, Any]] = {}
        for article, found_ in matches:
            for recipient in found_:
                if recipient.chat_id in due:
                    rows.setdefault(
                        (recipient.chat_id, recipient.topic, article.id),
                        {
                            "chat_id": recipient.chat_id,
                            "topic": recipient.topic,
                            "article_id": article.id,
                            "status": "pending",
                            "due_at": due[recipient.chat_id],
                            "attempts": 0,
                            "created_at": now,
                        },
                    )
        await OutboxRepository(session).enqueue(list(rows.values()))
        if rows:
            log.info("queued %d alerts for %d new articles", len(rows), len(work))
        return len(rows)


async def _subscription_index(session: AsyncSession) -> SubscriptionIndex:
    return SubscriptionIndex([_rule(s) for s in await SubscriptionRepository(session).all_active()])


async def _follow_indexes(session: AsyncSession) -> dict[int, SubscriptionIndex]:
    """Each followed feed's follows, as an index of rules like subscriptions'."""
    by_feed: dict[int, list[SubscriptionRule]] = defaultdict(list)
    for follow in await FollowRepository(session).all_active():
        by_feed[follow.feed_id].append(_rule(follow))
    return {feed_id: SubscriptionIndex(rules) for feed_id, rules in by_feed.items()}


def _rule(row: Subscription | FeedFollow) -> SubscriptionRule:
    """A subscription or a follow as a rule to match (a follow names no source: its feed is)."""
    return SubscriptionRule(
        row.id,
        row.chat_id,
        row.topic,
        tuple(row.include_terms.split()),
        tuple(row.exclude_terms.split()),
        row.created_at,
        tuple(row.source_terms.split()) if isinstance(row, Subscription) else (),
    )
