"""One migrated PostgreSQL schema per test session, emptied for each test that takes it.

Creating and migrating a schema costs most of a second; emptying its tables costs a few
milliseconds. A test that changes the schema itself (a downgrade, a dropped table, another
revision in ``alembic_version``) is noticed when it gives the schema back, and the schema is
dropped: the next test gets a new one, so every test still starts from the head revision
with no rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import migrate

# What makes a schema itself: its tables, columns, indexes, constraints, sequences and
# functions, and the revision it is at. Rows other than alembic_version's do not count.
_FINGERPRINT = """
SELECT 'column', table_name || '.' || column_name || ' ' || data_type || ' '
       || is_nullable || ' ' || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = :schema
UNION ALL
SELECT 'index', indexdef FROM pg_indexes WHERE schemaname = :schema
UNION ALL
SELECT 'constraint', c.conrelid::regclass::text || ' ' || c.conname || ' '
       || pg_get_constraintdef(c.oid)
  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = :schema
UNION ALL
SELECT 'relation', c.relkind::text || ' ' || c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema
UNION ALL
SELECT 'routine', p.proname || ' ' || md5(p.prosrc)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :schema
UNION ALL
SELECT 'trigger', t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema
UNION ALL
SELECT 'revision', version_num FROM alembic_version
ORDER BY 1, 2
"""
_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = :schema"


class Schema(Protocol):
    name: str

    def engine(self) -> AsyncEngine: ...
    async def create(self) -> None: ...
    async def drop(self) -> None: ...


class ReusedSchemas:
    """Hands out one migrated schema at a time, empty, and keeps it while it stays intact."""

    def __init__(self, make: Callable[[], Schema]) -> None:
        self._make = make
        self._kept: Schema | None = None
        # Every schema made and not dropped yet, with its fingerprint at the head.
        self._live: dict[str, tuple[Schema, list[tuple[str, str]]]] = {}

    async def take(self) -> Schema:
        if self._kept is not None:
            schema, self._kept = self._kept, None
            await _empty(schema)
            return schema
        schema = self._make()
        await schema.create()
        try:
            engine = schema.engine()
            try:
                await migrate(engine)
            finally:
                await engine.dispose()
            self._live[schema.name] = (schema, await _fingerprint(schema))
        except BaseException:
            await schema.drop()
            raise
        return schema

    async def give_back(self, schema: Schema) -> None:
        """Keep the schema for the next test if it is still the migrated one, else drop it."""
        _, migrated = self._live[schema.name]
        try:
            intact = await _fingerprint(schema) == migrated
        except Exception:  # a missing alembic_version, a broken schema: start again
            intact = False
        if not intact:
            await self._drop(schema)
            return
        if self._kept is not None:  # two at once (a test that took two): keep one
            await self._drop(self._kept)
        self._kept = schema

    async def close(self) -> None:
        """Drop every schema still there, given back or not (a test that failed halfway)."""
        self._kept = None
        for schema, _ in list(self._live.values()):
            await self._drop(schema)

    async def _drop(self, schema: Schema) -> None:
        del self._live[schema.name]
        await schema.drop()


async def _fingerprint(schema: Schema) -> list[tuple[str, str]]:
    engine = schema.engine()
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text(_FINGERPRINT), {"schema": schema.name})
            return [(str(kind), str(what)) for kind, what in rows]
    finally:
        await engine.dispose()


async def _empty(schema: Schema) -> None:
    engine = schema.engine()
    try:
        async with engine.begin() as connection:
            await _truncate(connection, schema.name)
    finally:
        await engine.dispose()


async def _truncate(connection: AsyncConnection, name: str) -> None:
    tables = (await connection.execute(text(_TABLES), {"schema": name})).scalars().all()
    emptied = [f'"{name}"."{t}"' for t in tables if t != "alembic_version"]
    if emptied:
        await connection.exec_driver_sql(f"TRUNCATE {', '.join(emptied)} RESTART IDENTITY")
