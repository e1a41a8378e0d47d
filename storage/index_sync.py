"""Keeps a process's search index in step with the articles table.

Every change to an article appends to ``article_events``; the follower tails that log and
applies the articles' current state to the index. Applying is idempotent, so re-reading an
event is harmless, and a crash between the index commit and the watermark write only
repeats work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.articles import ArticleRepository, EventRow
from storage.models import Article
from storage.search_index import IndexBusyError, IndexedArticle, SearchIndex

log = logging.getLogger(__name__)

# A hole in the event sequence is a transaction that has not committed yet (PostgreSQL hands
# out sequence numbers before commit) or one that rolled back. Wait this long for it.
GAP_PATIENCE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class SyncResult:
    applied: int
    watermark: int
    busy: bool = False


def to_indexed(article: Article) -> IndexedArticle:
    return IndexedArticle(
        id=article.id,
        title=article.title,
        body=article.body,
        source=article.source,
        sort_ts=int(article.sort_at.timestamp()),
    )


class IndexFollower:
    def __init__(
        self,
        index: SearchIndex,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        batch_size: int = 2000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._index = index
        self._sessions = session_factory
        self._batch_size = batch_size
        self._clock = clock
        self._gap_seen_at: dict[int, float] = {}
        self._lock = asyncio.Lock()

    @property
    def index(self) -> SearchIndex:
        return self._index

    async def catch_up(self) -> SyncResult:
        """Apply every event after the index's watermark."""
        async with self._lock:
            self._index.reload()
            applied = 0
            while True:
                watermark = self._index.watermark
                async with self._sessions() as session:
                    repo = ArticleRepository(session)
                    events = await repo.events_after(watermark, self._batch_size)
                    if not events:
                        return SyncResult(applied, watermark)
                    ids = sorted({event.article_id for event in events})
                    articles = await repo.get_many(ids)
                upserts = [to_indexed(articles[i]) for i in ids if i in articles]
                deletes = [i for i in ids if i not in articles]
                new_watermark = self._advance(watermark, events)
                try:
                    await asyncio.to_thread(
                        self._index.apply, upserts, deletes, watermark=new_watermark
                    )
                except IndexBusyError:
                    # Another process holds the writer and is following the same log.
                    self._index.reload()
                    return SyncResult(applied, self._index.watermark, busy=True)
                applied += len(events)
                if new_watermark == watermark or len(events) < self._batch_size:
                    return SyncResult(applied, new_watermark)

    async def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Drop the index and index every stored article again."""
        async with self._lock:
            async with self._sessions() as session:
                watermark = await ArticleRepository(session).last_event_seq()
            await asyncio.to_thread(self._index.clear)
            done, after_id = 0, 0
            while True:
                async with self._sessions() as session:
                    repo = ArticleRepository(session)
                    ids = await repo.iter_all_ids(after_id, self._batch_size)
                    if not ids:
                        break
                    articles = await repo.get_many(ids)
                upserts = [to_indexed(articles[i]) for i in ids if i in articles]
                await asyncio.to_thread(self._index.apply, upserts)
                done += len(upserts)
                after_id = ids[-1]
                if progress is not None:
                    progress(done)
            # Events logged during the rebuild are after this mark and get applied next.
            await asyncio.to_thread(self._index.apply, [], watermark=watermark)
            return done

    def _advance(self, watermark: int, events: list[EventRow]) -> int:
        """The highest seq up to which every event has been seen (or given up on)."""
        expected = watermark + 1
        now = self._clock()
        for event in events:
            if event.seq != expected:
                first_seen = self._gap_seen_at.setdefault(expected, now)
                if now - first_seen < GAP_PATIENCE_SECONDS:
                    break
                log.warning("article events %d..%d never appeared", expected, event.seq - 1)
                self._gap_seen_at.pop(expected, None)
            expected = event.seq + 1
        return expected - 1
