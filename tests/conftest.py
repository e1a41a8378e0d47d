"""Shared fixtures: a migrated database per test, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import create_engine, create_session_factory, migrate
from tests.helpers.log_scan import TokenScanner
from tests.helpers.postgres import create_database, drop_database, empty_tables
from tests.helpers.schemas import ReusedSchemas
from tests.helpers.sqlite_template import copy_migrated_sqlite, migrated_sqlite_template

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
# CI sets this so that an unreachable server fails the run instead of skipping its tests.
REQUIRE_POSTGRES = os.environ.get("NEWSBOT_REQUIRE_POSTGRES") == "1"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _postgres_reachable() -> bool:
    async def probe() -> bool:
        import asyncpg

        try:
            connection = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""), timeout=3)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    reachable = _postgres_reachable()
    if not reachable and REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required but not reachable at {POSTGRES_URL}")
    return reachable


class PostgresSchema:
    """A throw-away schema, so each test has an empty database of its own."""

    def __init__(self) -> None:
        self.name = f"t_{uuid.uuid4().hex[:12]}"

    def engine(self) -> AsyncEngine:
        return create_engine(
            POSTGRES_URL, connect_args={"server_settings": {"search_path": self.name}}
        )

    async def create(self) -> None:
        admin = create_engine(POSTGRES_URL)
        async with admin.begin() as connection:
            await connection.exec_driver_sql(f'CREATE SCHEMA "{self.name}"')
        await admin.dispose()

    async def drop(self) -> None:
        admin = create_engine(POSTGRES_URL)
        async with admin.begin() as connection:
            await connection.exec_driver_sql(f'DROP SCHEMA "{self.name}" CASCADE')
        await admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template() -> Path:
    """A migrated SQLite file that tests copy: migrating a new file each time is slow."""
    return migrated_sqlite_template()


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[ReusedSchemas]:
    """This session's migrated PostgreSQL schema, emptied for each test (see ReusedSchemas)."""
    schemas = ReusedSchemas(PostgresSchema)
    yield schemas
    asyncio.run(schemas.close())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine_factory(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres_available: bool,
    sqlite_template: Path,
    postgres_schemas: ReusedSchemas,
) -> AsyncIterator[EngineFactory]:
    """Makes engines on one fresh, migrated database (several, for concurrency tests)."""
    if request.param == "sqlite":
        path = tmp_path / "newsbot.db"
        shutil.copyfile(sqlite_template, path)
        factory = EngineFactory(lambda: create_engine(f"sqlite+aiosqlite:///{path}"))
        await factory.migrate()  # finds the copy at the head: a check, no Alembic
        yield factory
        await factory.dispose()
        return
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable")
    schema = await postgres_schemas.take()
    factory = EngineFactory(schema.engine)
    try:
        await factory.migrate()
        yield factory
    finally:
        await factory.dispose()
        await postgres_schemas.give_back(schema)


@pytest.fixture(scope="module")
def postgres_database(postgres_available: bool) -> Iterator[str | None]:
    """One database for a module's running bots on PostgreSQL (a bot needs a URL, which a
    schema cannot give), emptied before each test: dropping a database makes the whole server
    checkpoint, slow while others write a lot. None when PostgreSQL is not reachable."""
    if not postgres_available:
        yield None
        return
    url = asyncio.run(create_database(POSTGRES_URL))
    try:
        yield url
    finally:
        asyncio.run(drop_database(url))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_database: str | None
) -> str:
    """A migrated, empty database for a running bot: the SQLite file a bot in ``tmp_path``
    opens by default (``tmp_path / "bot.db"``), or the module's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{copy_migrated_sqlite(tmp_path / 'bot.db')}"
    if postgres_database is None:
        pytest.skip("PostgreSQL is not reachable")
    await empty_tables(postgres_database)
    return postgres_database


class EngineFactory:
    def __init__(self, make: Callable[[], AsyncEngine]) -> None:
        self._make = make
        self._engines: list[AsyncEngine] = []

    def new(self) -> AsyncEngine:
        engine = self._make()
        self._engines.append(engine)
        return engine

    async def migrate(self) -> None:
        await migrate(self.new())

    async def dispose(self) -> None:
        for engine in self._engines:
            await engine.dispose()


@pytest.fixture
def engine(engine_factory: EngineFactory) -> AsyncEngine:
    return engine_factory.new()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        """The time as a Unix timestamp: a monotonic clock for code that wants one."""
        return self.now.timestamp()

    async def sleep(self, delay: float) -> None:
        """A wait that passes at once and moves the clock on (a rate limiter's pause)."""
        self.now += timedelta(seconds=delay)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


class EveryWordKnown:
    """A vocabulary for services under test that knows every word: nothing is corrected."""

    def document_frequency(self, term: str) -> int:
        return 1

    def closest_term(self, word: str) -> str | None:
        return word


@pytest.fixture
def seed_article() -> Path:
    path = SHARED / "seeds" / "000_c74e056f559fd1b5.txt"
    if not path.exists():
        pytest.skip("the seed article (../shared/seeds) is not present")
    return path


@pytest.fixture(autouse=True)
def token_never_logged(monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenScanner]:
    """Every test: no log line at INFO or above shows the token of a Bot the test built."""
    scanner = TokenScanner()
    with scanner.watching(monkeypatch):
        yield scanner
    if leaks := scanner.leaks():
        pytest.fail(f"the bot token reached {len(leaks)} log line(s), first: {leaks[0][:300]}")
