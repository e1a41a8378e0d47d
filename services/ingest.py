"""Storing articles: clean, summarise, deduplicate, insert or update, in batches."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.boilerplate import strip_boilerplate
from services.parsing import RawArticle, Rejected
from services.summarize import summarize
from services.text import clean_title, join_paragraphs
from services.urls import canonicalize_url
from storage.articles import ArticleRepository
from storage.db import Fault, describe, storage_fault

SUMMARY_MAX_CHARS = 400
_WORD = re.compile(r"\w+")
# Batches being prepared while earlier ones are stored: enough to keep a pool busy.
PREPARE_AHEAD = 4
MAX_BODY_CHARS = 200_000
# Fields compared to tell an update from a re-load of the same article.
_COMPARED_FIELDS = (
    "fingerprint",
    "summary",
    "canonical_url",
    "external_id",
    "source",
    "published_at",
)


@dataclass(slots=True)
class IngestReport:
    added: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    added_ids: list[int] = field(default_factory=list)
    updated_ids: list[int] = field(default_factory=list)
    # With ``ingest(..., place=True)``: the stored article each item became or was found to
    # be, by the item's location (rejected items have none).
    placed: dict[str, Placed] = field(default_factory=dict)

    @property
    def seen(self) -> int:
        return self.added + self.updated + self.skipped + len(self.rejected)


PlacedAs = Literal["added", "updated", "skipped"]
ADDED: PlacedAs = "added"
UPDATED: PlacedAs = "updated"
SKIPPED: PlacedAs = "skipped"


@dataclass(frozen=True, slots=True)
class Placed:
    """The stored article one item was added as, updated, or recognised as (skipped)."""

    article_id: int
    outcome: PlacedAs


class IngestInterrupted(Exception):
    """The database refused a write (its disk full, its server gone): the load stopped.

    Each batch is one transaction, so the batches before were stored whole and the one being
    written left nothing behind; ``report`` counts what was stored. Loading the same files
    again is safe: what is stored already is skipped.
    """

    def __init__(self, report: IngestReport, fault: Fault, detail: str) -> None:
        super().__init__(f"the database is {fault}: {detail}")
        self.report = report
        self.fault = fault
        self.detail = detail


@dataclass(frozen=True, slots=True)
class PreparedArticle:
    """An article ready to store, with its dedup keys."""

    external_id: str | None
    canonical_url: str | None
    fingerprint: str
    values: dict[str, Any]
    location: str


def fingerprint(title: str, body: str) -> str:
    """A hash of the story's words: the same text in other whitespace or case is the same."""
    digest = hashlib.sha256()
    digest.update(" ".join(_WORD.findall(title.lower())).encode())
    digest.update(b"\x00")
    digest.update(" ".join(_WORD.findall(body.lower())).encode())
    return digest.hexdigest()


def prepare(raw: RawArticle, location: str) -> PreparedArticle | Rejected:
    """Clean and summarise one article; reject it when nothing of a story is left."""
    title = clean_title(raw.title)
    body = join_paragraphs(strip_boilerplate(raw.body[:MAX_BODY_CHARS]).split("\n\n"))
    if not title:
        return Rejected(location, "the article has no title")
    if not body.strip():
        return Rejected(location, "the article has no story text once boilerplate is removed")
    summary = (raw.summary or "").strip()
    if not summary or len(summary) > SUMMARY_MAX_CHARS:
        summary = summarize(title, body, max_chars=SUMMARY_MAX_CHARS)
    canonical = canonicalize_url(raw.url) if raw.url else None
    values: dict[str, Any] = {
        "external_id": raw.external_id,
        "title": title,
        "body": body,
        "summary": summary,
        "url": raw.url if canonical else None,
        "canonical_url": canonical,
        "source": (raw.source or "").strip()[:256] or None,
        "published_at": raw.published_at,
    }
    return PreparedArticle(raw.external_id, canonical, fingerprint(title, body), values, location)


Located = tuple[RawArticle | Rejected, str]
# Given a new article's publication time (None when unknown): should subscribers hear of it?
NotifyRule = Callable[[datetime | None], bool]


def prepare_batch(batch: list[Located]) -> list[PreparedArticle | Rejected]:
    """Prepare a batch (a top-level function, so a process pool can run it)."""
    return [item if isinstance(item, Rejected) else prepare(item, where) for item, where in batch]


class IngestService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime],
        batch_size: int = 500,
        executor: Executor | None = None,
    ) -> None:
        """``executor``: a process pool for the CPU-bound cleaning and summarising."""
        self._sessions = session_factory
        self._clock = clock
        self._batch_size = batch_size
        self._executor = executor

    async def ingest(
        self,
        items: Iterable[Located],
        *,
        on_progress: Callable[[IngestReport], None] | None = None,
        notify: NotifyRule | None = None,
        place: bool = False,
    ) -> IngestReport:
        """Store parsed items (each with where it came from); return the counts.

        ``notify`` decides from a new article's publication time whether subscribers hear
        of it (default: always); updates never alert. ``place``: say in ``report.placed``
        which stored article each item became (kept off for big loads: it grows per item).
        """
        report = IngestReport()
        loop = asyncio.get_running_loop()
        # Batches are prepared ahead (in other processes, given a pool) and stored in order.
        in_flight: deque[asyncio.Future[list[PreparedArticle | Rejected]]] = deque()
        try:
            for batch in _batches(iter(items), self._batch_size):
                if self._executor is None:
                    in_flight.append(_done(loop, prepare_batch(batch)))
                else:
                    in_flight.append(loop.run_in_executor(self._executor, prepare_batch, batch))
                if len(in_flight) > PREPARE_AHEAD:
                    prepared = await in_flight.popleft()
                    await self._store_prepared(prepared, report, on_progress, notify, place)
            while in_flight:
                prepared = await in_flight.popleft()
                await self._store_prepared(prepared, report, on_progress, notify, place)
        except Exception as error:
            fault = storage_fault(error)
            if fault is None:
                raise
            for waiting in in_flight:
                waiting.cancel()
            raise IngestInterrupted(report, fault, describe(error)) from error
        return report

    async def _store_prepared(
        self,
        results: list[PreparedArticle | Rejected],
        report: IngestReport,
        on_progress: Callable[[IngestReport], None] | None,
        notify: NotifyRule | None,
        place: bool,
    ) -> None:
        prepared: list[PreparedArticle] = []
        for result in results:
            if isinstance(result, Rejected):
                report.rejected.append(result)
            else:
                prepared.append(result)
        _absorb(report, await self._store_batch(prepared, notify), place=place)
        if on_progress is not None:
            on_progress(report)

    async def _store_batch(
        self, batch: list[PreparedArticle], notify: NotifyRule | None
    ) -> IngestReport:
        try:
            async with self._sessions.begin() as session:
                return await self._store(session, batch, notify)
        except IntegrityError:
            pass
        # A concurrent writer stored one of these first: go one by one so the rest lands.
        # An article refused once is tried again: the other writer's copy is there to match.
        report = IngestReport()
        for article in batch:
            for attempt in range(2):
                try:
                    async with self._sessions.begin() as session:
                        stored = await self._store(session, [article], notify)
                except IntegrityError:
                    if attempt:
                        report.skipped += 1
                    continue
                _absorb(report, stored, place=True)
                break
        return report

    async def _store(
        self, session: AsyncSession, batch: list[PreparedArticle], notify: NotifyRule | None
    ) -> IngestReport:
        report = IngestReport()
        repo = ArticleRepository(session)
        existing = await repo.find_matches(
            (a.external_id for a in batch if a.external_id),
            (a.canonical_url for a in batch if a.canonical_url),
            (a.fingerprint for a in batch),
        )
        known = _KeyMap()
        for row in existing:
            known.put(row["id"], row)
        now = self._clock()
        new_rows: list[dict[str, Any]] = []
        # Each item's article; a negative id stands for the new row -id - 1, not inserted yet.
        placed: list[tuple[str, int, PlacedAs]] = []
        for item in batch:
            target = known.match(item)
            if target is None:
                row = {**item.values, "fingerprint": item.fingerprint}
                row.update(
                    stored_at=now, updated_at=now, sort_at=item.values["published_at"] or now
                )
                known.put(-len(new_rows) - 1, row)
                new_rows.append(row)
                placed.append((item.location, -len(new_rows), ADDED))
                continue
            target_id, row = target
            merged = _merge(row, item)
            if target_id < 0 or _same_content(row, merged) or known.taken_by_other(target_id, item):
                report.skipped += 1
                placed.append((item.location, target_id, SKIPPED))
                continue
            merged.update(updated_at=now, sort_at=merged["published_at"] or row["stored_at"])
            await repo.update_one(target_id, merged)
            row.update(merged)
            known.put(target_id, row)
            report.updated += 1
            report.updated_ids.append(target_id)
            placed.append((item.location, target_id, UPDATED))
        flags = None if notify is None else [notify(row["published_at"]) for row in new_rows]
        ids = await repo.insert_many(new_rows, flags)
        report.added += len(ids)
        report.added_ids.extend(ids)
        report.placed = {
            where: Placed(ids[-article_id - 1] if article_id < 0 else article_id, outcome)
            for where, article_id, outcome in placed
        }
        return report


def _absorb(report: IngestReport, batch: IngestReport, *, place: bool) -> None:
    """Add a stored batch's outcome to the report (its rejections are counted elsewhere)."""
    report.added += batch.added
    report.updated += batch.updated
    report.skipped += batch.skipped
    report.added_ids.extend(batch.added_ids)
    report.updated_ids.extend(batch.updated_ids)
    if place:
        report.placed.update(batch.placed)


class _KeyMap:
    """Rows by each of their dedup keys: external id, canonical URL, fingerprint."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], int] = {}
        self._rows: dict[int, dict[str, Any]] = {}

    def put(self, row_id: int, row: dict[str, Any]) -> None:
        self._rows[row_id] = row
        for key in _keys(row["external_id"], row["canonical_url"], row["fingerprint"]):
            self._by_key[key] = row_id

    def match(self, item: PreparedArticle) -> tuple[int, dict[str, Any]] | None:
        # The publisher's own id wins over the URL, which wins over the content.
        for key in _keys(item.external_id, item.canonical_url, item.fingerprint):
            if key in self._by_key:
                row_id = self._by_key[key]
                return row_id, self._rows[row_id]
        return None

    def taken_by_other(self, row_id: int, item: PreparedArticle) -> bool:
        """Would updating ``row_id`` to ``item`` steal a unique key from another row?"""
        keys = _keys(item.external_id, item.canonical_url, item.fingerprint)
        return any(self._by_key.get(key, row_id) != row_id for key in keys)


def _keys(external_id: str | None, canonical_url: str | None, fp: str) -> list[tuple[str, str]]:
    keys = []
    if external_id:
        keys.append(("id", external_id))
    if canonical_url:
        keys.append(("url", canonical_url))
    keys.append(("fp", fp))
    return keys


def _merge(row: dict[str, Any], item: PreparedArticle) -> dict[str, Any]:
    """The item's values over the stored row's; what the item lacks is kept, not erased."""
    merged = {"fingerprint": item.fingerprint}
    for name, value in item.values.items():
        merged[name] = value if value is not None else row[name]
    return merged


def _same_content(row: dict[str, Any], merged: dict[str, Any]) -> bool:
    # Title and body count through the fingerprint: a change of case or spacing is no update.
    return all(row[name] == merged[name] for name in _COMPARED_FIELDS)


Prepared = list[PreparedArticle | Rejected]


def _done(loop: asyncio.AbstractEventLoop, value: Prepared) -> asyncio.Future[Prepared]:
    future: asyncio.Future[Prepared] = loop.create_future()
    future.set_result(value)
    return future


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(islice(items, size)):
        yield batch
