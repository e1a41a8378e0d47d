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
