"""Many alert sends in flight: Telegram's per-chat and per-group limits hold, across a crash
too, and a crash repeats at most what was in flight. The real Telegram sender and PTB Bot
against the fake Bot API (every call takes a while), on SQLite and PostgreSQL.

Time runs WARP times faster than the wall clock for everything but the database and the
event loop, so a minute of a group's alerts passes in seconds.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from handlers.sender import TelegramAlertSender
from services.alerts.delivery import DeliveryWorker
from services.alerts.matcher import AlertMatcher
from services.alerts.ratelimit import SEND_BURST, SendWindow, TokenBucket
from services.alerts.subscriptions import ChatRef, SubscriptionService
from services.ingest import IngestService
from services.parsing import RawArticle
from storage.db import create_session_factory
from storage.models import OutboxMessage
from storage.search_index import SearchIndex
from tests.conftest import EngineFactory
from tests.helpers.botapi import ApiCall, FakeBotApi
from tests.helpers.fake_request import FakeRequest

TOKEN = "123456:TEST-token-never-logged"
WARP = 20.0
PRIVATE = [801, 802, 803, 804, 805, 806]
GROUPS = [-901, -902, -903, -100904]
ARTICLES = 22  # more than a group may get in a minute
IN_FLIGHT = 8


class Warp:
    def __init__(self) -> None:
        self._wall = time.monotonic()
        self._start = datetime(2026, 11, 1, 12, 0, tzinfo=UTC).timestamp()

    def seconds(self) -> float:
        return self._start + (time.monotonic() - self._wall) * WARP

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.seconds(), UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / WARP)


class Rig:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], bot: Bot, warp: Warp) -> None:
        self.sessions = sessions
        self.warp = warp
        self.sender = TelegramAlertSender(bot)
        self.matcher = AlertMatcher(sessions, clock=warp.now)

    def worker(
        self,
        name: str,
        *,
        group_size: int = 1,
        sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> DeliveryWorker:
        warp = self.warp
        return DeliveryWorker(
            sessions or self.sessions,
            self.sender,
            clock=warp.now,
            worker_id=name,
            rate=TokenBucket(29, burst=SEND_BURST, clock=warp.seconds, sleep=warp.sleep),
            window=SendWindow(30, clock=warp.seconds, sleep=warp.sleep),
            max_in_flight=IN_FLIGHT,
            group_size=group_size,
            idle_seconds=0.005,
            monotonic=warp.seconds,
        )

    async def count(self, status: str) -> int:
        async with self.sessions() as session:
            query = select(func.count()).where(OutboxMessage.status == status)
            return int((await session.execute(query)).scalar_one())

    async def until_the_write_lock_is_free(self, within: float = 30.0) -> None:
        """On a SQLite file: until no connection holds its write lock (on PostgreSQL a
        closed connection's transaction ends with it)."""
        engine = self.sessions.kw["bind"]
        if engine.dialect.name != "sqlite":
            return
        deadline = time.monotonic() + within
        probe = sqlite3.connect(engine.url.database, timeout=0)
        try:
            while True:
                try:
                    probe.execute("BEGIN IMMEDIATE")
                    probe.rollback()
                    return
                except sqlite3.OperationalError:
                    assert time.monotonic() < deadline, "the write lock is still held"
                    gc.collect()
                    await asyncio.sleep(0.02)
        finally:
            probe.close()

    async def until_nothing_pending(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while await self.count("pending") + await self.count("sending"):
            assert time.monotonic() < deadline, "alerts still pending"
            await asyncio.sleep(0.02)


@pytest.fixture
async def rig(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Rig]:
    warp = Warp()
    api = FakeBotApi(clock=warp.seconds)
    api.set_latency(0.25 / WARP)  # 250 ms a round trip, in warped time
    subscriptions = SubscriptionService(sessions, SearchIndex(None), clock=warp.now)
    for chat_id in PRIVATE + GROUPS:
        kind = "private" if chat_id > 0 else "group"
        await subscriptions.subscribe(ChatRef(chat_id, kind), 0, "", chat_id)
    async with Bot(TOKEN, request=FakeRequest(api)) as bot:
        rig = Rig(sessions, bot, warp)
        assert await rig.matcher.run_once() == 0
        items = [
            (RawArticle(title=f"Harbour story {n}", body=f"Harbour story {n}. More."), "t")
            for n in range(ARTICLES)
        ]
        await IngestService(sessions, clock=warp.now).ingest(items)
        await rig.matcher.run_once()
        yield rig


def delivered(api: FakeBotApi) -> list[ApiCall]:
    return [c for c in api.calls_to("sendMessage") if c.error_code is None]


def limits_broken(calls: list[ApiCall]) -> list[str]:
    """Every send that broke 1 a second to a chat or 20 a minute to a group."""
    broken = []
    by_chat: dict[int, list[float]] = {}
    for call in sorted(calls, key=lambda c: c.at):
        by_chat.setdefault(int(call.params["chat_id"]), []).append(call.at)
    for chat_id, stamps in by_chat.items():
        for earlier, later in itertools.pairwise(stamps):
            if later - earlier < 1.0:
                broken.append(f"chat {chat_id}: two within {later - earlier:.3f} s")
        if chat_id < 0:
            for n, at in enumerate(stamps):
                in_minute = [t for t in stamps[: n + 1] if t > at - 60.0]
                if len(in_minute) > 20:
                    broken.append(f"group {chat_id}: {len(in_minute)} within 60 s")
    return broken


def api_of(rig: Rig) -> FakeBotApi:
    api = rig.sender._bot.request.api  # type: ignore[attr-defined]
    assert isinstance(api, FakeBotApi)
    return api


async def crash_mid_fan_out(
    rig: Rig, sessions: async_sessionmaker[AsyncSession], group_size: int
) -> None:
    """A sender dies with sends in flight: every task of it stops where it is. Its objects
    go with this call (a cancelled task's frames hold its sessions and their cursors)."""
    api = api_of(rig)
    first = rig.worker("first", group_size=group_size, sessions=sessions)
    stop = asyncio.Event()
    running = asyncio.create_task(first.run(stop))
    deadline = time.monotonic() + 30
    while len(delivered(api)) < len(PRIVATE + GROUPS) * ARTICLES // 3 or first.stats.in_flight < 2:
        assert time.monotonic() < deadline, "never two sends in flight"
        await asyncio.sleep(0.001)
    for task in asyncio.all_tasks():
        if task.get_name().startswith(("alert to", "alerts sending", "group commit")):
            task.cancel()
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await asyncio.sleep(0.05)  # requests already handed over finish (or not) on the server


@pytest.mark.parametrize("group_size", [1, 4], ids=["one-at-a-time", "grouped-records"])
async def test_limits_hold_with_many_sends_in_flight_and_across_a_crash(
    rig: Rig, engine_factory: EngineFactory, group_size: int
) -> None:
    """group_size 4: "sending" recorded four sends at a time, as at paid-broadcast rates;
    the answers settled in shared commits."""
    api = api_of(rig)
    expected = len(PRIVATE + GROUPS) * ARTICLES
    # The first sender has connections of its own, as a process of its own would.
    doomed = engine_factory.new()
    await crash_mid_fan_out(rig, create_session_factory(doomed), group_size)
    # A dead process's connections close with it, ending its transactions. Here, in one
    # process, a connection whose return to the pool was cancelled mid-transaction is
    # dropped, and SQLite really closes it (ending its transaction, freeing the file's
    # write lock) only once its cursors are gone, with the cancelled tasks that hold them:
    # until then the next sender's first write waited out SQLite's 30 s and failed
    # "database is locked" (seen once under load).
    await doomed.dispose()
    gc.collect()
    await rig.until_the_write_lock_is_free()
    sending_at_crash = await rig.count("sending")
    sent_before = Counter((c.params["chat_id"], c.params["text"]) for c in delivered(api))

    second = rig.worker("second", group_size=group_size)
    assert await second.release_stale_claims() >= 1
    stop = asyncio.Event()
    running = asyncio.create_task(second.run(stop))
    await rig.until_nothing_pending()
    stop.set()
    await running

    calls = delivered(api)
    copies = Counter((c.params["chat_id"], c.params["text"]) for c in calls)
    assert len(copies) == expected  # nothing lost
    repeated = sum(n - 1 for n in copies.values())
    assert repeated <= sending_at_crash  # only what may have gone at the crash went twice
    assert all(n == 1 for n in sent_before.values())
    # In flight, and the rest of a group recorded ahead of its requests.
    assert 1 <= sending_at_crash <= IN_FLIGHT + group_size - 1
    assert limits_broken(calls) == []
    assert await rig.count("sent") + await rig.count("unconfirmed") == expected
    recorded, commits = second.sent_commits
    assert recorded == len(calls) - sum(sent_before.values())  # each of its sends, once
    if group_size > 1:
        assert commits < recorded  # answers that came in together shared a commit


async def test_never_two_sends_in_flight_to_one_chat(rig: Rig) -> None:
    api = api_of(rig)
    in_flight: Counter[int] = Counter()
    overlaps: list[int] = []
    real_exchange = api.exchange

    async def watched(method: str, params: dict[str, object], **kwargs: object) -> object:
        chat_id = int(str(params.get("chat_id", 0)))
        in_flight[chat_id] += 1
        if in_flight[chat_id] > 1:
            overlaps.append(chat_id)
        try:
            return await real_exchange(method, params, **kwargs)  # type: ignore[arg-type]
        finally:
            in_flight[chat_id] -= 1

    api.exchange = watched  # type: ignore[assignment,method-assign]
    worker = rig.worker("only")
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    await rig.until_nothing_pending()
    stop.set()
    await running
    assert len(delivered(api)) == len(PRIVATE + GROUPS) * ARTICLES
    assert worker.stats.requests == len(delivered(api))
    assert overlaps == []
