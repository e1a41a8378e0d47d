"""Telling a database fault of the moment (retry, say so plainly) from a bug (traceback)."""

from __future__ import annotations

import errno
import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from storage.db import OutageLog, create_engine, storage_fault


class PostgresError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"server said {sqlstate}")
        self.sqlstate = sqlstate


def wrapped(error: BaseException) -> OperationalError:
    return OperationalError("INSERT ...", {}, error)


async def test_sqlite_locked_past_its_timeout_is_busy(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.05})
    try:
        with pytest.raises(OperationalError) as caught:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        await engine.dispose()
        holder.close()
    assert storage_fault(caught.value) == "busy"


@pytest.mark.parametrize(
    ("error", "fault"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "full"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"), "unreachable"),
        (wrapped(PostgresError("53100")), "full"),
        (wrapped(PostgresError("57P01")), "unreachable"),
        (wrapped(PostgresError("08006")), "unreachable"),
        (wrapped(PostgresError("42P01")), None),
        (IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed")), None),
        (ValueError("a bug"), None),
    ],
)
def test_faults_are_told_from_bugs(error: BaseException, fault: str | None) -> None:
    assert storage_fault(error) == fault


def test_sqlite_full_is_recognised_by_its_error_code() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    assert storage_fault(wrapped(full)) == "full"


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = OutageLog(logging.getLogger("test"), "matching")
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")
    with caplog.at_level(logging.INFO):
        assert all(outage.failed(refused) for _ in range(5))
        assert not outage.failed(ValueError("a bug"))  # the caller logs that one in full
        outage.succeeded()
        outage.succeeded()
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "WARNING",
            "matching paused: the database is unreachable "
            "([Errno 111] Connect call failed); retrying",
        ),
        ("INFO", "matching resumed: the database answers again"),
    ]
