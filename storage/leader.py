"""One leader per database: the process that matches, polls feeds and sends alerts.

Telegram's flood limits are per bot, so exactly one process should send. PostgreSQL gives
a session-level advisory lock (released the moment the holder's connection dies, however it
dies); a SQLite file gives an exclusive ``flock`` on a file beside it.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

ADVISORY_KEY = 0x6E657773  # "news"


class LeaderLock:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._file: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None or self._file is not None

    async def try_acquire(self) -> bool:
        """Become the leader if nobody is; True when this process leads (now or already)."""
        if self.held:
            return await self._still_held()
        if self._engine.dialect.name == "postgresql":
            return await self._acquire_advisory()
        return self._acquire_file()

    async def release(self) -> None:
        if self._connection is not None:
            try:
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY}
                )
            except (DBAPIError, OSError):
                # A lost connection took the lock with it: nothing is left to release.
                log.info("the leader lock's connection was already gone")
            await _close(self._connection)
            self._connection = None
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    async def _acquire_advisory(self) -> bool:
        """Ask for the lock on a connection of its own (errors reach the caller, to retry)."""
        connection = await self._engine.connect()
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            result = await connection.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}
            )
            if result.scalar_one():
                self._connection = connection
                return True
        finally:
            if self._connection is not connection:
                await _close(connection)
        return False

    async def _still_held(self) -> bool:
        if self._connection is None:
            return True
        try:
            await self._connection.execute(text("SELECT 1"))
        except (DBAPIError, OSError):
            log.warning("lost the database connection that held the leader lock")
            await _close(self._connection)
            self._connection = None
            return False
        return True

    def _acquire_file(self) -> bool:
        path = _lock_path(self._engine)
        handle = path.open("a+b")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.truncate(0)
        handle.write(str(os.getpid()).encode())
        handle.flush()
        self._file = handle
        return True


async def _close(connection: AsyncConnection) -> None:
    """Close a connection that may already be broken (then it is simply dropped)."""
    try:
        await connection.close()
    except (DBAPIError, OSError):
        await connection.invalidate()


def _lock_path(engine: AsyncEngine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        return Path(f"/tmp/newsbot-leader-{os.getpid()}.lock")
    return Path(database + ".leader")
