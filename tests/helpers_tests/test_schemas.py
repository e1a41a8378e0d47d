"""ReusedSchemas: a kept schema comes back empty; a schema a test changed is never kept."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from tests.conftest import PostgresSchema
from tests.helpers.schemas import ReusedSchemas, Schema

pytestmark = pytest.mark.postgres


@pytest.fixture
async def schemas(postgres_available: bool) -> AsyncIterator[ReusedSchemas]:
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable")
    schemas = ReusedSchemas(PostgresSchema)
    yield schemas
    await schemas.close()


async def _run(schema: Schema, *statements: str) -> list[object]:
    engine = schema.engine()
    try:
        async with engine.begin() as connection:
            results = [await connection.execute(text(s)) for s in statements]
            return [r.scalar() if r.returns_rows else None for r in results]
    finally:
        await engine.dispose()


async def test_a_kept_schema_comes_back_at_the_head_with_no_rows(
    schemas: ReusedSchemas,
) -> None:
    first = await schemas.take()
    await _run(first, "INSERT INTO chats (id, kind, created_at) VALUES (5, 'private', now())")
    await schemas.give_back(first)
    again = await schemas.take()
    assert again.name == first.name
    counted = await _run(
        again, "SELECT count(*) FROM chats", "SELECT version_num FROM alembic_version"
    )
    assert counted[0] == 0 and counted[1]
    await schemas.give_back(again)


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE chats ADD COLUMN extra integer",
        "DROP TABLE alembic_version",
        "UPDATE alembic_version SET version_num = '0001'",
        "CREATE INDEX extra_index ON chats (kind)",
    ],
)
async def test_a_changed_schema_is_dropped_and_the_next_is_new(
    schemas: ReusedSchemas, change: str
) -> None:
    first = await schemas.take()
    await _run(first, change)
    await schemas.give_back(first)
    second = await schemas.take()
    assert second.name != first.name
    gone = await _run(second, f"SELECT count(*) FROM pg_namespace WHERE nspname = '{first.name}'")
    assert gone == [0]
    await schemas.give_back(second)


async def test_closing_drops_a_schema_a_failed_test_never_gave_back(
    schemas: ReusedSchemas,
) -> None:
    kept = await schemas.take()
    await schemas.give_back(kept)
    await schemas.take()  # the same one, taken and never given back
    fresh = PostgresSchema()
    await fresh.create()
    try:
        await schemas.close()
        query = f"SELECT count(*) FROM pg_namespace WHERE nspname = '{kept.name}'"
        assert await _run(fresh, query) == [0]
    finally:
        await fresh.drop()
