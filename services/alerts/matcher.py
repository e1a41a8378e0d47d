"""Turns new articles into queued alerts: the article event log in, outbox rows out."""

from __future__ import annotations

import logging
import time
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

log = logging.getLogger(__name__)

CURSOR = "alert-matcher"
NEW_CURSOR = -1  # where the cursor stands before its first run
# Subscriptions are re-read when their version changes, and at least this often (a safety net).
SUBSCRIPTIONS_MAX_AGE_SECONDS = 5.0


class AlertMatcher:
    """Matches every new article against every subscription exactly once.

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

    async def run_once(self) -> int:
        """Match the next batch of new articles; return how many alerts were queued."""
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
            queued = await self._queue(session, fresh) if fresh else 0
            await cursors.move(CURSOR, self._gaps.advance(position, [e.seq for e in events]))
        return queued

    async def _queue(self, session: AsyncSession, events: list[Any]) -> int:
        index = await self._subscriptions(session)
        if index.size == 0:
            return 0
        stored = await ArticleRepository(session).get_many([e.article_id for e in events])
        matches: list[tuple[Any, list[Recipient]]] = []
        for event in events:
            article = stored.get(event.article_id)
            if article is not None:
                text = f"{article.summary}\n{article.body}"
                found = index.recipients(article.title, text, event.created_at, article.source)
                matches.append((article, found))
        # One read for every chat of the batch: a burst reaches thousands of them.
        chats = await ChatRepository(session).get_many(
            recipient.chat_id for _, found in matches for recipient in found
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
            for article, found in matches
            for recipient in found
            if recipient.chat_id in due
        ]
        await OutboxRepository(session).enqueue(rows)
        if rows:
            log.info("queued %d alerts for %d new articles", len(rows), len(events))
        return len(rows)

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
