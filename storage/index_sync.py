"""Keeps a process's search index in step with the articles table.

Every change to an article appends to ``article_events``; the follower tails that log and
applies the articles' current state to the index. Applying is idempotent, so re-reading an
event is harmless, and a crash between the index commit and the watermark write only
repeats work.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.articles import ArticleRepository
from storage.event_log import GapTracker
from storage.models import Article
from storage.search_index import IndexBusyError, IndexedArticle, SearchIndex


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
        self._gaps = GapTracker(clock)
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
                new_watermark = self._gaps.advance(watermark, [e.seq for e in events])
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
