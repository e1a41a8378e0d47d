"""Faults the bot survives: its PostgreSQL server restarted, SQLite busy, the disk full."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers.render import SORRY, UNAVAILABLE
from services.alerts.matcher import CURSOR, NEW_CURSOR
from services.parsing import RawArticle
from storage.db import create_engine, create_session_factory
from storage.models import Cursor, OutboxMessage
from tests.conftest import REQUIRE_POSTGRES
from tests.handlers.harness import BotHarness, running_bot
from tests.helpers.botapi import ApiCall
from tests.helpers.postgres import ThrowawayCluster, postgres_binaries

PRIVATE = 4242
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
        return [str(c.params["text"]) for c in self.bot.replies() if c.params["chat_id"] == self.id]


def is_digest(call: ApiCall) -> bool:
    return call.error_code is None and str(call.params["text"]).startswith("🗞")


async def test_a_postgres_restart_loses_no_search_subscription_or_alert(
    cluster: ThrowawayCluster, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(cluster.url)
    sessions = create_session_factory(engine)

    async def outbox() -> list[tuple[str, int]]:
        async with sessions() as session:
            rows = await session.execute(select(OutboxMessage.status, OutboxMessage.article_id))
            return [(status, article) for status, article in rows.all()]

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
                # Whoever writes meanwhile is told, and nothing half-done is left behind.
                assert await chat.say("/subscribe strike") == UNAVAILABLE
                assert await chat.say("harbour strike") == UNAVAILABLE
                await asyncio.sleep(1)  # the background loops meet the outage too
                await cluster.start()
            finally:
                await bot.app.stop()

            assert "Harbour strike" in await chat.say("harbour strike")
            assert (await chat.say("/subscribe dock")).startswith("✅ Subscribed")
            listing = await chat.say("/subscriptions")
            assert "harbour" in listing and "dock" in listing and "strike" not in listing
            bot.clock.now = bot.clock.now.replace(minute=0) + timedelta(hours=1)
            await bot.api.wait_for_calls("sendMessage", predicate=is_digest, within=WAIT)
        assert await outbox() == [("sent", article)]
        (alert,) = [c for c in bot.api.calls_to("sendMessage") if is_digest(c)]
        assert alert.params["chat_id"] == PRIVATE and "Harbour strike" in alert.params["text"]
        assert all(c.params.get("text") != SORRY for c in bot.api.calls)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        await engine.dispose()
