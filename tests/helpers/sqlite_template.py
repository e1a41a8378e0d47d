"""A migrated SQLite file to copy: migrating every test's new database file is slow."""

from __future__ import annotations

import asyncio
import atexit
import functools
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from storage.db import create_engine, migrate


@functools.cache
def migrated_sqlite_template() -> Path:
    """The file, migrated once per test process (a worker thread: callers may be async)."""
    folder = Path(tempfile.mkdtemp(prefix="newsbot-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "newsbot.db"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _migrate(path)).result()
    return path


def copy_migrated_sqlite(path: Path) -> Path:
    """A migrated database at ``path``, unless a file is there already (a restarted bot)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated_sqlite_template(), path)
    return path


async def _migrate(path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await migrate(engine)
    await engine.dispose()  # the last connection to close folds the WAL into the file
