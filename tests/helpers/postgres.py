"""PostgreSQL for tests that need a whole database or a whole server of their own.

``create_database`` makes an empty database on the shared test server (a running bot needs a
URL, which a schema-per-test cannot give). ``ThrowawayCluster`` is a private server on a free
port, made with initdb in a temporary directory, that a test may stop and restart at will.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg


async def create_database(server_url: str) -> str:
    """A new, empty database on the server of ``server_url`` (a SQLAlchemy URL); its URL."""
    name = f"newsbot_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url.replace("+asyncpg", ""))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


async def drop_database(url: str) -> None:
    base, _, name = url.rpartition("/")
    admin = await asyncpg.connect(f"{base}/postgres".replace("+asyncpg", ""))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def empty_tables(url: str) -> None:
    """Empty every table of the database at ``url`` but the schema version."""
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'alembic_version'"
        )
        if tables:
            names = ", ".join(f'"{t["tablename"]}"' for t in tables)
            await connection.execute(f"TRUNCATE {names} RESTART IDENTITY")
    finally:
        await connection.close()


def postgres_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl (the newest installed version), if any."""
    found = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayCluster:
    """A PostgreSQL server of the test's own; as root it runs as the ``postgres`` user."""

    def __init__(self, binaries: Path) -> None:
        self._bin = binaries
        self.port = _free_port()
        # Not under pytest's tmp_path: as root that is private to root, and initdb is not.
        self._root = Path(tempfile.mkdtemp(prefix="newsbot-pg-"))
        self._data = self._root / "data"
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:  # initdb refuses to run as root
            self._as = {"user": "postgres", "group": "postgres"}
            shutil.chown(self._root, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            [str(self._bin / tool), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **self._as,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stdout}{result.stderr}")

    async def create(self) -> None:
        await asyncio.to_thread(
            self._run, "initdb", "-D", str(self._data), "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        await self.start()

    async def start(self) -> None:
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self._root} -c fsync=off"
        )
        log = str(self._root / "server.log")
        await asyncio.to_thread(
            self._run, "pg_ctl", "-D", str(self._data), "-l", log, "-o", options, "-w", "start"
        )

    async def stop(self) -> None:
        """A fast shutdown: clients are disconnected, as when an operator restarts the server."""
        await asyncio.to_thread(
            self._run, "pg_ctl", "-D", str(self._data), "-m", "fast", "-w", "stop"
        )

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def destroy(self) -> None:
        if (self._data / "postmaster.pid").exists():
            await asyncio.to_thread(
                self._run, "pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop"
            )
        shutil.rmtree(self._root, ignore_errors=True)
