"""Replicas starting together on an empty database: every one migrates or waits, none fails."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import create_engine, migrate
from tests.conftest import PostgresSchema


async def test_replicas_migrate_an_empty_sqlite_file_together(tmp_path: Path) -> None:
    engines = [create_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}") for _ in range(3)]
    try:
        await asyncio.gather(*(migrate(e) for e in engines))
        async with engines[0].connect() as connection:
            rows = await connection.execute(text("SELECT count(*) FROM alembic_version"))
            assert rows.scalar_one() == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def test_new_sqlite_files_opened_together_all_switch_to_wal(tmp_path: Path) -> None:
    """SQLite refuses a switch to WAL at once (no busy wait) while another connection opens
    the same new file: each try here starts six replicas on a fresh file, and without
    asking again some of them failed with "database is locked" in most runs."""
    for attempt in range(16):
        database = tmp_path / f"fresh{attempt}.db"
        engines = [create_engine(f"sqlite+aiosqlite:///{database}") for _ in range(6)]
        try:
            await asyncio.gather(*(migrate(e) for e in engines))
            for engine in engines:
                async with engine.connect() as connection:
                    mode = await connection.execute(text("PRAGMA journal_mode"))
                    assert mode.scalar_one() == "wal"
        finally:
            for engine in engines:
                await engine.dispose()


@pytest.mark.postgres
async def test_replicas_migrate_an_empty_postgres_database_together(
    postgres_available: bool,
) -> None:
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable")
    schema = PostgresSchema()
    await schema.create()
    engines = [schema.engine() for _ in range(3)]
    try:
        await asyncio.gather(*(migrate(e) for e in engines))
        async with engines[0].connect() as connection:
            rows = await connection.execute(text("SELECT count(*) FROM alembic_version"))
            assert rows.scalar_one() == 1
    finally:
        for engine in engines:
            await engine.dispose()
        await schema.drop()
