"""A database at the newest revision starts without Alembic; any other is upgraded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import MIGRATIONS_DIR, migrate
from storage.migration_head import head_revision, is_at_head

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = MIGRATIONS_DIR / "versions"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    assert [head_revision(VERSIONS)] == ScriptDirectory.from_config(_config()).get_heads()


def test_two_heads_mean_no_shortcut(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a1"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision: str = "b1"\ndown_revision: str | None = None\n')
    assert head_revision(tmp_path) is None
    (tmp_path / "b.py").write_text('revision: str = "b1"\ndown_revision: str | None = "a1"\n')
    assert head_revision(tmp_path) == "b1"


async def test_only_a_database_at_the_head_counts_as_migrated(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        assert await connection.run_sync(is_at_head, VERSIONS)
        await connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        assert not await connection.run_sync(is_at_head, VERSIONS)
        await connection.execute(text("DROP TABLE alembic_version"))
        assert not await connection.run_sync(is_at_head, VERSIONS)


def test_a_migrated_database_opens_without_loading_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}"
    script = f"""
import asyncio, sys
from storage.db import create_engine, migrate

async def main() -> None:
    engine = create_engine({url!r})
    await migrate(engine)
    await engine.dispose()
    print("alembic" in sys.modules)

asyncio.run(main())
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    assert [run.stdout.strip() for run in runs] == ["True", "False"], runs[-1].stderr


async def test_migrating_an_older_database_still_upgrades_it(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: command.downgrade(_config(c), "0001"))
        assert not await connection.run_sync(is_at_head, VERSIONS)
    await migrate(engine)
    async with engine.connect() as connection:
        assert await connection.run_sync(is_at_head, VERSIONS)
        assert (await connection.execute(text("SELECT count(*) FROM outbox"))).scalar() == 0
