"""Faults the bot survives: its PostgreSQL server restarted, SQLite busy, the disk full."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from handlers.render import SORRY, UNAVAILABLE
from services.alerts.matcher import CURSOR, NEW_CURSOR
from services.parsing import RawArticle
from storage.db import create_engine, create_session_factory
from storage.models import Article, Cursor, OutboxMessage
from tests.conftest import REQUIRE_POSTGRES
from tests.handlers.harness import BotHarness, running_bot, settings_for
from tests.helpers.botapi import ApiCall
from tests.helpers.postgres import ThrowawayCluster, postgres_binaries

PRIVATE = 4242
ALERTS = ("🔔 New article", "🗞")
WAIT = 30.0  # seconds an expected event may take on a loaded machine before the test fails


async def eventually(check: Callable[[], object], what: str, within: float = WAIT) -> None:
    """Wait until ``check()`` (maybe a coroutine) is truthy; fail naming ``what`` if never."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)


# -- PostgreSQL restarted under the running bot --------------------------------------------------


@pytest.fixture
async def cluster() -> AsyncIterator[ThrowawayCluster]:
    binaries = postgres_binaries()
    if binaries is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    server = ThrowawayCluster(binaries)
    try:
        await server.create()
        yield server
    finally:
        await server.destroy()


class Chat:
    """One private chat talking to the bot: what it sends and what it got back."""

    def __init__(self, bot: BotHarness, chat_id: int = PRIVATE) -> None:
        self.bot, self.id = bot, chat_id

    async def say(self, text: str) -> str:
        before = len(self.received())
        await self.bot.send(
            self.bot.api.updates.message_update(text, chat_id=self.id, user_id=self.id)
        )
        (reply,) = self.received()[before:]
        return reply

    def received(self) -> list[str]:
        """Answers to this chat's messages (alerts, which come on their own, left out)."""
        return [
            str(c.params["text"])
            for c in self.bot.replies()
            if c.params["chat_id"] == self.id and not str(c.params["text"]).startswith(ALERTS)
        ]


def is_digest(call: ApiCall) -> bool:
    return call.error_code is None and str(call.params["text"]).startswith("🗞")


async def test_a_postgres_restart_loses_no_search_subscription_or_alert(
    cluster: ThrowawayCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    engine = create_engine(cluster.url)
    sessions = create_session_factory(engine)

    async def outbox() -> list[tuple[str, int]]:
        async with sessions() as session:
            rows = await session.execute(select(OutboxMessage.status, OutboxMessage.article_id))
            return sorted((status, article) for status, article in rows.all())

    async def outbox_is(expected: list[tuple[str, int]]) -> bool:
        return sorted(await outbox()) == expected

    async def matcher_started() -> bool:
        async with sessions() as session:
            position = await session.scalar(select(Cursor.position).where(Cursor.name == CURSOR))
        return position is not None and position != NEW_CURSOR

    try:
        async with running_bot(tmp_path, database_url=cluster.url) as bot:
            chat = Chat(bot)
            await eventually(matcher_started, "the alert loop's first pass")
            assert (await chat.say("/subscribe harbour")).startswith("✅ Subscribed")
            assert "an hourly digest" in await chat.say("/digest hourly")
            (article,) = await bot.load(
                RawArticle(title="Harbour strike", body="Dock workers walked out today.")
            )
            await eventually(outbox, "the alert queued for the next hourly digest")
            assert await outbox() == [("pending", article)]

            await bot.app.start()  # the job queue too: the index follower runs every 0.5 s
            try:
                await cluster.stop()
                # Whoever asks meanwhile is told, and nothing half-done is left behind.
                assert await chat.say("/subscribe strike") == UNAVAILABLE
                assert await chat.say("harbour strike") == UNAVAILABLE
                await eventually(
                    lambda: (
                        "alert delivery paused" in caplog.text
                        and "matching new articles paused" in caplog.text
                    ),
                    "the background loops meeting the outage",
                )
                # The outage outlasts the leader lock's check (every 3 s): the term as
                # leader ends with the database down, and the next term's loops are the
                # ones that find it back (under load it went either way).
                await eventually(
                    lambda: "lost the database connection that held the leader lock" in caplog.text,
                    "the leader lock lost with the database",
                )
                await cluster.start()
            finally:
                await bot.app.stop()

            assert "Harbour strike" in await chat.say("harbour strike")
            assert (await chat.say("/subscribe dock")).startswith("✅ Subscribed")
            listing = await chat.say("/subscriptions")
            assert "harbour" in listing and "dock" in listing and "strike" not in listing
            (later,) = await bot.load(
                RawArticle(title="Dock walkout spreads", body="Two more ports joined today.")
            )
            await eventually(
                lambda: outbox_is([("pending", article), ("pending", later)]),
                "the new article matched after the restart",
            )
            bot.clock.now = bot.clock.now.replace(minute=0) + timedelta(hours=1)
            await bot.api.wait_for_calls("sendMessage", predicate=is_digest, within=WAIT)
        assert await outbox() == [("sent", article), ("sent", later)]
        (digest,) = [c for c in bot.api.calls_to("sendMessage") if is_digest(c)]
        assert digest.params["chat_id"] == PRIVATE
        assert "Harbour strike" in digest.params["text"]
        assert "Dock walkout spreads" in digest.params["text"]
        assert all(c.params.get("text") != SORRY for c in bot.api.calls)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert "alert delivery resumed" in caplog.text
        assert "matching new articles resumed" in caplog.text
    finally:
        await engine.dispose()


# -- SQLite busy: a large ``newsbot ingest`` writing beside the bot ------------------------------

WORDS = [
    "harbour",
    "strike",
    "council",
    "budget",
    "river",
    "election",
    "museum",
    "railway",
    "festival",
    "drought",
    "vaccine",
    "stadium",
    "treaty",
    "glacier",
    "parliament",
    "orchestra",
    "satellite",
    "vineyard",
    "tunnel",
]


def write_corpus(path: Path, count: int) -> Path:
    """A JSON Lines file of distinct articles (a few megabytes: ingest runs its process pool)."""
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            words = [WORDS[(n * 7 + k * 3) % len(WORDS)] for k in range(60)]
            body = f"Report {n} on the {words[0]}. " + " ".join(words) + f". Ends report {n}."
            record = {"id": f"bulk-{n}", "title": f"Bulk story {n} about {words[1]}", "body": body}
            out.write(json.dumps(record) + "\n")
    return path


async def article_count(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(select(func.count(Article.id)))).scalar_one())
    finally:
        await engine.dispose()


async def test_the_bot_keeps_answering_while_a_large_ingest_writes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    corpus = write_corpus(tmp_path / "bulk.jsonl", 4000)
    settings = settings_for(tmp_path)
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        # An index of its own: what this test is about is the database they share.
        "SEARCH_INDEX_DIR": str(tmp_path / "ingest-index"),
    }
    async with running_bot(tmp_path) as bot:
        chat = Chat(bot)
        await bot.load(RawArticle(title="Harbour strike", body="Dock workers walked out today."))
        await bot.app.start()  # the index follower job follows the ingest as it goes
        ingest = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "ingest", str(corpus),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await eventually(
                lambda: article_count(settings.database_url), "the ingest's first batch"
            )
            rounds_during_writes = 0
            round_ = 0
            stored = await article_count(settings.database_url)
            while ingest.returncode is None:
                # New subscriptions at first, then the same again: a write to the chat either way.
                reply = await chat.say(f"/subscribe {WORDS[round_ % len(WORDS)]}")
                assert reply.startswith("✅ Subscribed"), reply
                assert "Harbour strike" in await chat.say("dock workers")
                assert "Subscriptions of this chat" in await chat.say("/subscriptions")
                before, stored = stored, await article_count(settings.database_url)
                rounds_during_writes += stored > before
                round_ += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ingest.wait(), 0.05)
            out, err = await ingest.communicate()
        finally:
            if ingest.returncode is None:  # the test failed midway: leave nothing running
                ingest.kill()
                await ingest.communicate()
            await bot.app.stop()
    assert ingest.returncode == 0, err.decode()
    assert "added 4000" in out.decode()
    assert "Traceback" not in err.decode() and "locked" not in err.decode()
    assert rounds_during_writes >= 1  # the commands really met the ingest's writes
    assert all(c.params.get("text") not in (SORRY, UNAVAILABLE) for c in bot.api.calls)
    problems = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info or "locked" in r.getMessage()
    ]
    assert problems == [], [r.getMessage() for r in problems]


# -- the disk filling up during an ingest ---------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], None]]:
    """A real filesystem of 1 MB (tmpfs), and a way to resize it; needs root to mount."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root; this test runs as another user")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {mounted.stderr.strip()}")

    def resize(size: str) -> None:
        subprocess.run(
            ["mount", "-o", f"remount,size={size}", str(mount_point)], check=True, timeout=30
        )

    try:
        yield resize
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, timeout=30)


def newsbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_disk_filling_up_stops_the_ingest_clearly_and_keeps_whole_batches(
    tmp_path: Path, small_disk: Callable[[str], None]
) -> None:
    corpus = write_corpus(tmp_path / "corpus.jsonl", 1500)  # about 2 MB once stored
    database = tmp_path / "disk" / "newsbot.db"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
    }

    stopped = newsbot("ingest", str(corpus), env=env)

    assert stopped.returncode == 1
    assert "Traceback" not in stopped.stderr
    assert "newsbot: stopped: the disk holding the database is full" in stopped.stderr
    assert "Running the same command again is safe" in stopped.stderr
    (stored,) = re.findall(r"Stored before that: added (\d+),", stopped.stderr)
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        added_events = db.execute(
            "SELECT count(*) FROM article_events WHERE kind = 'added'"
        ).fetchone()[0]
    # Whole batches of 500 (one transaction each), each article with its change-log entry.
    assert articles == added_events == int(stored)
    assert 0 < articles < 1500 and articles % 500 == 0

    small_disk("20m")  # the operator frees space and runs the same command again
    resumed = newsbot("ingest", str(corpus), env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"added {1500 - articles}, updated 0, skipped {articles}," in resumed.stdout


def test_a_disk_too_full_to_open_the_database_is_one_clear_line(
    tmp_path: Path, small_disk: Callable[[str], None]
) -> None:
    small_disk("40k")  # not even room for the schema
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'disk' / 'newsbot.db'}",
        "SEARCH_INDEX_DIR": str(tmp_path / "index"),
    }
    result = newsbot("ingest", str(write_corpus(tmp_path / "one.jsonl", 1)), env=env)
    assert result.returncode == 1
    problems = [line for line in result.stderr.splitlines() if "alembic" not in line]
    assert problems == [
        "newsbot: the disk holding the database is full: free some space and run it again "
        "(database or disk is full)"
    ]
