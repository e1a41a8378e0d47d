"""Keeps a process's search index in step with the articles table.

Every change to an article appends to ``article_events``; the follower tails that log and
applies the articles' current state to the index. Applying is idempotent, so re-reading an
event is harmless. An index that cannot be trusted on open (see ``storage.index_state``)
starts empty at watermark 0, and the first catch-up rebuilds it from the whole log.

A long backlog (a first load, a rebuild) goes through one writer with a large heap and a
single commit, which leaves a few large segments instead of many small ones: a typo'd
query word walks the term dictionary of every segment, so that keeps queries fast.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.articles import ArticleRepository, EventRow
from storage.event_log import GapTracker
from storage.models import Article
from storage.search_index import (
    BULK_WRITER_HEAP,
    IndexBusyError,
    IndexedArticle,
    SearchIndex,
)

log = logging.getLogger(__name__)

# A backlog of this many events is applied through one bulk writer (see the module doc).
BULK_EVENTS = 20_000


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
        bulk_events: int = BULK_EVENTS,
        bulk_heap: int = BULK_WRITER_HEAP,
    ) -> None:
        self._index = index
        self._sessions = session_factory
        self._batch_size = batch_size
        self._bulk_events = bulk_events
        self._bulk_heap = bulk_heap
        self._gaps = GapTracker(clock)
        self._lock = asyncio.Lock()

    @property
    def index(self) -> SearchIndex:
        return self._index

    async def catch_up(self) -> SyncResult:
        """Apply every event after the index's watermark."""
        async with self._lock:
            self._index.reload()
            watermark = self._index.watermark
            applied = 0
            while True:
                events, upserts, deletes = await self._read(watermark)
                if not events:
                    return SyncResult(applied, watermark)
                if len(events) == self._batch_size and await self._backlog(watermark) >= (
                    self._bulk_events
                ):
                    result = await self._bulk_catch_up(watermark)
                    return SyncResult(applied + result.applied, result.watermark, result.busy)
                new_watermark = self._gaps.advance(watermark, [e.seq for e in events])
                try:
                    await asyncio.to_thread(
                        self._index.apply, upserts, deletes, watermark=new_watermark
                    )
                except IndexBusyError:
                    # Another process holds the writer and is following the same log.
                    return self._busy(applied)
                applied += len(events)
                if new_watermark == watermark or len(events) < self._batch_size:
                    return SyncResult(applied, new_watermark)
                watermark = new_watermark

    async def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Index every stored article again; the old index answers until the new one is done."""
        async with self._lock:
            async with self._sessions() as session:
                watermark = await ArticleRepository(session).last_event_seq()
            batch = await asyncio.to_thread(self._index.batch, self._bulk_heap, replace_all=True)
            try:
                done, after_id = 0, 0
                while True:
                    async with self._sessions() as session:
                        repo = ArticleRepository(session)
                        ids = await repo.iter_all_ids(after_id, self._batch_size)
                        if not ids:
                            break
                        articles = await repo.get_many(ids)
                    upserts = [to_indexed(articles[i]) for i in ids if i in articles]
                    done += await asyncio.to_thread(batch.add, upserts)
                    after_id = ids[-1]
                    if progress is not None:
                        progress(done)
                # Events logged during the rebuild are after this mark and get applied next.
                await asyncio.to_thread(batch.commit, watermark)
            except BaseException:
                batch.rollback()
                raise
            return done

    async def _bulk_catch_up(self, watermark: int) -> SyncResult:
        try:
            batch = await asyncio.to_thread(self._index.batch, self._bulk_heap)
        except IndexBusyError:
            return self._busy(0)
        applied = 0
        try:
            while True:
                events, upserts, deletes = await self._read(watermark)
                if not events:
                    break
                new_watermark = self._gaps.advance(watermark, [e.seq for e in events])
                await asyncio.to_thread(batch.add, upserts, deletes)
                applied += len(events)
                if new_watermark == watermark or len(events) < self._batch_size:
                    watermark = new_watermark
                    break
                watermark = new_watermark
            await asyncio.to_thread(batch.commit, watermark)
        except BaseException:
            batch.rollback()
            raise
        return SyncResult(applied, watermark)

    async def _read(self, watermark: int) -> tuple[list[EventRow], list[IndexedArticle], list[int]]:
        """The next events after the watermark, and the current state of their articles."""
        async with self._sessions() as session:
            repo = ArticleRepository(session)
            events = await repo.events_after(watermark, self._batch_size)
            ids = sorted({event.article_id for event in events})
            articles = await repo.get_many(ids)
        upserts = [to_indexed(articles[i]) for i in ids if i in articles]
        deletes = [i for i in ids if i not in articles]
        return events, upserts, deletes

    async def _backlog(self, watermark: int) -> int:
        async with self._sessions() as session:
            return await ArticleRepository(session).last_event_seq() - watermark

    def _busy(self, applied: int) -> SyncResult:
        self._index.reload()
        return SyncResult(applied, self._index.watermark, busy=True)
