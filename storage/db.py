"""Engine and session factories, schema migration on start-up, and telling faults apart."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import InterfaceError as SAInterfaceError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_

from storage.migration_head import is_at_head

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# PostgreSQL advisory lock taken while migrating (not the leader's: storage/leader.py).
MIGRATION_LOCK_KEY = 0x6E657760


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create an async engine, tuned for concurrent readers and writers on SQLite."""
    if url.startswith("sqlite"):
        # Another process (``newsbot ingest``) may write while the bot reads: wait, don't fail.
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        _enter_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


# How long a connection keeps asking to switch a new file to WAL while others hold it.
WAL_SWITCH_PATIENCE_SECONDS = 30.0


def _enter_wal(cursor: Any) -> None:
    """Put the file in WAL mode (it stays so: later connections only read the mode).

    Switching needs the file to itself for a moment, and SQLite answers "database is
    locked" at once, without waiting out the busy timeout, when another connection is
    opening the same new file (replicas or ``newsbot ingest`` starting together). Ask
    again after a short pause, off the event loop's back (this runs in its greenlet).
    """
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() == "wal":
        return
    pause, waited = 0.01, 0.0
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.fetchall()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or waited >= WAL_SWITCH_PATIENCE_SECONDS:
                raise
        await_(asyncio.sleep(pause))
        waited += pause
        pause = min(pause * 2, 0.5)


def insert_unless_present(session: AsyncSession, table: Any) -> Any:
    """An INSERT that leaves a row with the same unique key alone (it may be another
    transaction's, committed a moment ago): check-then-insert would raise instead."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (creates it on an empty database).

    Processes that start together (replicas) take turns: the first migrates, the others
    then find the schema current.
    """
    versions = MIGRATIONS_DIR / "versions"
    async with engine.begin() as connection:
        if await connection.run_sync(is_at_head, versions):
            return
    async with _migration_turn(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        # Looked at again under the lock: whoever held it before may have migrated.
        if not await connection.run_sync(is_at_head, versions):
            await connection.run_sync(_upgrade)


@contextlib.asynccontextmanager
async def _migration_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """On a SQLite file, an exclusive flock beside it (PostgreSQL locks in the transaction)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock = await asyncio.to_thread(Path(f"{database}.migrate-lock").open, "ab")
    try:
        await asyncio.to_thread(fcntl.flock, lock.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        lock.close()  # closing the file releases the lock


def _upgrade(connection: Connection) -> None:
    # Imported here: a database already at the newest revision never needs Alembic.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


Fault = Literal["unreachable", "busy", "full"]
_UNREACHABLE_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.EPIPE, errno.EHOSTUNREACH}
# PostgreSQL: connection exceptions, shut down / starting up, out of resources.
_PG_UNREACHABLE = ("08", "57P01", "57P02", "57P03", "53300")
_PG_FULL = "53100"


def storage_fault(error: BaseException) -> Fault | None:
    """What the database could not do just now, when that is a fault of the moment (to
    report plainly and retry) rather than a bug (to report with its traceback).

    "unreachable": the server is down, restarting or the connection was lost; "busy": SQLite
    stayed locked past its timeout; "full": no space left for the write. None: anything else.
    """
    for cause in _causes(error):
        if isinstance(cause, DBAPIError) and (
            cause.connection_invalidated or isinstance(cause, SAInterfaceError)
        ):
            return "unreachable"
        if isinstance(cause, sqlite3.OperationalError):
            code = getattr(cause, "sqlite_errorcode", None)
            if code == sqlite3.SQLITE_FULL:
                return "full"
            if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return "busy"
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str):
            if sqlstate == _PG_FULL:
                return "full"
            if sqlstate.startswith(_PG_UNREACHABLE):
                return "unreachable"
        if isinstance(cause, asyncpg.InterfaceError | asyncpg.exceptions.InternalClientError):
            return "unreachable"  # the connection broke under a query; a new one will do
        if isinstance(cause, OSError):
            if cause.errno == errno.ENOSPC:
                return "full"
            if isinstance(cause, ConnectionError | TimeoutError) or (
                cause.errno in _UNREACHABLE_ERRNOS
            ):
                return "unreachable"
    return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        cause = pending.pop()
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        yield cause
        orig = getattr(cause, "orig", None)
        pending += [
            cause.__cause__,
            cause.__context__,
            orig if isinstance(orig, BaseException) else None,
        ]


class OutageLog:
    """Reports a database outage in one line when it starts and one when it ends.

    A loop that retries every half second would otherwise log a traceback each time.
    """

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._log = logger
        self._what = what
        self._down = False

    def failed(self, error: BaseException) -> bool:
        """True when ``error`` is a storage fault (reported, once); False: a bug to raise."""
        fault = storage_fault(error)
        if fault is None:
            return False
        if not self._down:
            self._down = True
            self._log.warning(
                "%s paused: the database is %s (%s); retrying",
                self._what,
                fault,
                describe(error),
            )
        return True

    def succeeded(self) -> None:
        if self._down:
            self._down = False
            self._log.info("%s resumed: the database answers again", self._what)


def describe(error: BaseException) -> str:
    """The error's first line, without SQLAlchemy's statement and parameters."""
    text = str(getattr(error, "orig", None) or error) or type(error).__name__
    return text.strip().splitlines()[0][:200]
