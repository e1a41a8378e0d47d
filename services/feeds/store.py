"""Storing the entries of many feed polls together: one writer, a transaction per batch.

Polls hand their entries to the process's EntryWriter and wait. Whichever poll gets the
write turn stores everything queued by then (a group commit), so a thousand polls cost a
few dozen transactions, not a thousand, and the polls of one process never race each other
for SQLite's single write lock. A batch that loses that lock to another process is retried.

Feed entries are stored silently in the article event log: who hears of one depends on
the feed that carried it (a chat's own feed alerts its followers only), so each entry's
(feed, article) pair is logged in ``feed_items``, with whether it is news, and the alert
matcher routes from there. An article another feed brought first (the same id, URL or
text) still gets its pair.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest import ADDED, UPDATED, IngestReport, IngestService, Placed
from services.parsing import RawArticle
from storage.follows import FeedItemRepository

log = logging.getLogger(__name__)

# Entries per write turn, and per ingest call (IngestService's batch: one transaction).
TURN_ENTRIES = 2000
CHUNK_ENTRIES = 500
LOCKED_RETRIES = 3


@dataclass(frozen=True, slots=True)
class Entry:
    article: RawArticle
    location: str  # unique per entry: how its outcome and its article are found
    notify: bool  # whether subscribers hear of it, should it be new to its feed
    feed_id: int = 0  # the feed that carried it (0: none, no feed item is logged)


@dataclass(slots=True)
class Stored:
    added: int = 0
    updated: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class _Request:
    entries: Sequence[Entry]
    future: asyncio.Future[Stored]
    abandoned: bool = False  # its poll was cancelled: nobody waits for the outcome


class EntryWriter:
    def __init__(
        self,
        ingest: IngestService,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ingest = ingest
        self._sessions = sessions
        self._clock = clock
        self._queue: deque[_Request] = deque()
        self._turn = asyncio.Lock()

    async def store(self, entries: Sequence[Entry]) -> Stored:
        """Store one poll's entries (with whatever else is queued); say what became of them."""
        if not entries:
            return Stored()
        request = _Request(entries, asyncio.get_running_loop().create_future())
        self._queue.append(request)
        try:
            async with self._turn:
                if not request.future.done():
                    await self._write(self._take())
        except asyncio.CancelledError:
            request.abandoned = True
            raise
        return request.future.result()

    def _take(self) -> list[_Request]:
        batch: list[_Request] = []
        size = 0
        while self._queue and size < TURN_ENTRIES:
            request = self._queue.popleft()
            if not request.abandoned:
                batch.append(request)
                size += len(request.entries)
        return batch

    async def _write(self, batch: list[_Request]) -> None:
        try:
            outcomes = await self._store_all(batch)
        except Exception as error:
            for request in batch:
                request.future.set_exception(error)
            return
        except BaseException:  # cancelled mid-write: whoever writes next takes these over
            self._queue.extendleft(reversed(batch))
            raise
        for request, outcome in zip(batch, outcomes, strict=True):
            request.future.set_result(outcome)

    async def _store_all(self, batch: list[_Request]) -> list[Stored]:
        at = {e.location: n for n, r in enumerate(batch) for e in r.entries}
        outcomes = [Stored() for _ in batch]
        entries = [e for r in batch for e in r.entries]
        for start in range(0, len(entries), CHUNK_ENTRIES):
            chunk = entries[start : start + CHUNK_ENTRIES]
            report = await self._ingest_chunk([(e.article, e.location) for e in chunk])
            for where, placed in report.placed.items():
                if placed.outcome == ADDED:
                    outcomes[at[where]].added += 1
                elif placed.outcome == UPDATED:
                    outcomes[at[where]].updated += 1
            for rejected in report.rejected:
                outcomes[at[rejected.location]].problems.append(
                    f"{rejected.location}: {rejected.reason}"
                )
            await self._log_items(chunk, report.placed)
        for request, outcome in zip(batch, outcomes, strict=True):
            outcome.skipped = (
                len(request.entries) - outcome.added - outcome.updated - len(outcome.problems)
            )
        return outcomes

    async def _log_items(self, chunk: Sequence[Entry], placed: Mapping[str, Placed]) -> None:
        """Log each entry's (feed, article) pair; a pair already logged stays as it was.

        The article is the one ingest stored the entry as or recognised it as, by id, URL or
        text alike: another feed's copy of a story reaches this feed's followers too.
        """
        now = self._clock()
        rows: dict[tuple[int, int], dict[str, Any]] = {}
        for entry in chunk:
            found = placed.get(entry.location)
            if entry.feed_id and found is not None:
                rows.setdefault(
                    (entry.feed_id, found.article_id),
                    {
                        "feed_id": entry.feed_id,
                        "article_id": found.article_id,
                        "notify": entry.notify,
                        "created_at": now,
                    },
                )
        if not rows:
            return
        attempt = 1
        while True:
            try:
                async with self._sessions.begin() as session:
                    await FeedItemRepository(session).record(list(rows.values()))
                return
            except OperationalError as error:  # SQLite's write lock, as for the entries
                if attempt == LOCKED_RETRIES or "locked" not in str(error.orig):
                    raise
            await asyncio.sleep(0.2 * attempt)
            attempt += 1

    async def _ingest_chunk(self, located: list[tuple[RawArticle, str]]) -> IngestReport:
        def rule(_: datetime | None) -> bool:
            return False  # feed entries are announced through their feed items

        attempt = 1
        while True:
            try:
                return await self._ingest.ingest(located, notify=rule, place=True)
            except OperationalError as error:
                # Another process held SQLite's write lock past the busy timeout, or wrote
                # between this transaction's read and its write: nothing was stored.
                if attempt == LOCKED_RETRIES or "locked" not in str(error.orig):
                    raise
            log.info("storing feed entries: the database was locked; retrying")
            await asyncio.sleep(0.2 * attempt)
            attempt += 1
