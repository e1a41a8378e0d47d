"""An ingest the database stops midway (its disk full): whole batches kept, a clear report.

tests/test_faults.py fills a real (tmpfs) disk where the test may mount one; this injects the
error the database reports then, so the guarantee is checked everywhere, on both dialects.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.ingest import IngestInterrupted, IngestService
from services.parsing import RawArticle
from storage.models import Article, ArticleEvent
from tests.conftest import FixedClock


def disk_full(dialect: str) -> Exception:
    """What each database reports when a write finds no space left."""
    if dialect == "postgresql":
        return asyncpg.exceptions.DiskFullError("could not extend file: No space left on device")
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorcode = sqlite3.SQLITE_FULL
    return error


async def test_a_full_disk_stops_the_ingest_between_whole_batches(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    writes = 0

    def fill_up_on_the_third_batch(*args: Any) -> None:
        nonlocal writes
        statement = args[2]
        # The batch's articles are inserted already: their change-log entry is what fails.
        if statement.startswith("INSERT INTO article_events"):
            writes += 1
            if writes == 3:
                raise disk_full(engine.dialect.name)

    event.listen(engine.sync_engine, "before_cursor_execute", fill_up_on_the_third_batch)
    ingest = IngestService(sessions, clock=clock, batch_size=10)
    items = [
        (RawArticle(title=f"Story {n}", body=f"The full story number {n}."), "t") for n in range(50)
    ]

    with pytest.raises(IngestInterrupted) as stopped:
        await ingest.ingest(items)

    event.remove(engine.sync_engine, "before_cursor_execute", fill_up_on_the_third_batch)
    assert stopped.value.fault == "full"
    assert "No space left" in stopped.value.detail or "disk is full" in stopped.value.detail
    assert (stopped.value.report.added, stopped.value.report.skipped) == (20, 0)
    async with sessions() as session:
        articles = await session.scalar(select(func.count(Article.id)))
        events = await session.scalar(select(func.count(ArticleEvent.seq)))
    assert articles == events == 20  # the third batch left nothing, not even its articles

    again = await ingest.ingest(items)  # space freed: the same load again
    assert (again.added, again.skipped) == (30, 20)


async def test_a_bug_is_not_mistaken_for_a_full_disk(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    def broken(*args: Any) -> None:
        if args[2].startswith("INSERT INTO article_events"):
            raise ZeroDivisionError("a bug")

    event.listen(engine.sync_engine, "before_cursor_execute", broken)
    with pytest.raises(ZeroDivisionError):
        await IngestService(sessions, clock=clock).ingest(
            [(RawArticle(title="One", body="The one story."), "t")]
        )
    event.remove(engine.sync_engine, "before_cursor_execute", broken)
