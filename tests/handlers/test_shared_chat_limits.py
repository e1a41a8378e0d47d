"""Replies and alerts to one chat keep its limits together when they come from different
processes: one Application answers commands (a webhook replica), another one's alert sender
delivers, sharing one database (SQLite file or PostgreSQL) and one fake Telegram.

Telegram: one message a second to a chat, twenty a minute to a group. Replies always go at
once (a user waits for them); alerts wait for the room the replies left.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.pacing import ChatPacer
from services.alerts.delivery import DeliveryWorker
from services.alerts.matcher import AlertMatcher
from services.parsing import RawArticle
from storage.models import ChatSend
from tests.conftest import FixedClock
from tests.handlers.harness import BotHarness, alert_rig, running_bot
from tests.helpers.botapi import ApiCall, FakeBotApi

PRIVATE = 4401
GROUP = -4402
ADMIN = 4403


@dataclass
class TwoProcesses:
    replica: BotHarness  # answers commands
    sender: BotHarness  # its alert sender delivers
    api: FakeBotApi
    clock: FixedClock
    sessions: async_sessionmaker[AsyncSession]
    matcher: AlertMatcher
    worker: DeliveryWorker

    def advance(self, seconds: float) -> None:
        self.clock.now += timedelta(seconds=seconds)

    async def command(self, text: str, chat_id: int, **extra: object) -> ApiCall:
        """A command the replica answers; returns its reply, once it is recorded too."""
        user_id = chat_id if chat_id > 0 else ADMIN
        before = len(self.messages(chat_id))
        update = self.api.updates.message_update(text, chat_id=chat_id, user_id=user_id, **extra)
        await self.replica.send(update)
        pacer = self.replica.app.bot.rate_limiter
        assert isinstance(pacer, ChatPacer)
        await pacer.recorded()
        (reply,) = self.messages(chat_id)[before:]
        return reply

    async def load(self, count: int) -> int:
        """Store articles every subscriber gets; returns how many alerts were queued."""
        for n in range(count):
            await self.replica.load(
                RawArticle(title=f"Harbour story {n}", body=f"Harbour story {n}. More to come.")
            )
        return await self.matcher.run_once()

    async def recorded_sends(self) -> int:
        async with self.sessions() as session:
            return int(
                (await session.execute(select(func.count()).select_from(ChatSend))).scalar_one()
            )

    def messages(self, chat_id: int) -> list[ApiCall]:
        return [
            c
            for c in self.api.calls_to("sendMessage")
            if c.error_code is None and c.params["chat_id"] == chat_id
        ]

    def alerts(self, chat_id: int) -> list[ApiCall]:
        return [c for c in self.messages(chat_id) if str(c.params["text"]).startswith("🔔")]


@pytest.fixture
async def two(tmp_path: Path, database_url: str) -> AsyncIterator[TwoProcesses]:
    url = database_url
    clock = FixedClock()
    api = FakeBotApi(clock=clock.seconds)
    api.set_admins(GROUP, [ADMIN])
    (tmp_path / "replica").mkdir()
    (tmp_path / "sender").mkdir()
    async with (
        running_bot(
            tmp_path / "replica", api, clock=clock, alert_loop=False, database_url=url
        ) as replica,
        running_bot(
            tmp_path / "sender",
            api,
            clock=clock,
            alert_loop=False,
            database_url=url,
            pacer_on_the_clock=True,
        ) as sender,
        alert_rig(sender, url, worker_id="sender", on_the_clock=True) as rig,
    ):
        assert await rig.matcher.run_once() == 0
        yield TwoProcesses(replica, sender, api, clock, rig.sessions, rig.matcher, rig.worker)


async def test_an_alert_waits_a_second_after_a_reply_another_process_sent(
    two: TwoProcesses,
) -> None:
    await two.command("/subscribe", PRIVATE)
    await two.command("/subscribe", GROUP, chat_type="group")
    two.advance(5)
    assert await two.load(1) == 2
    reply = await two.command("/help", PRIVATE)
    # The sender's process never saw that reply; the group had none lately.
    assert await two.worker.deliver_once() == 1
    assert len(two.alerts(GROUP)) == 1 and two.alerts(PRIVATE) == []
    two.advance(0.5)
    assert await two.worker.deliver_once() == 0
    two.advance(0.5)
    assert await two.worker.deliver_once() == 1
    (alert,) = two.alerts(PRIVATE)
    assert alert.at - reply.at >= 1.0


async def test_a_group_gets_no_more_than_twenty_a_minute_of_replies_and_alerts(
    two: TwoProcesses,
) -> None:
    await two.command("/subscribe", GROUP, chat_type="group")
    two.advance(60)
    assert await two.load(30) == 30
    # For 45 s the group talks to the bot: a reply every 3 s from the replica, while the
    # sender delivers alerts (a group on its own would get twenty of them in the first minute).
    for tick in itertools.count():
        if tick % 6 == 0 and tick < 90:
            await two.command("/help", GROUP, chat_type="group")
        await two.worker.deliver_once()
        if len(two.alerts(GROUP)) == 30 and tick >= 90:
            break
        assert tick < 1000, "alerts never went"
        two.advance(0.5)
    stamps = [c.at for c in two.messages(GROUP)]
    assert len(stamps) == 1 + 15 + 30  # the /subscribe reply, the /help replies, the alerts
    for alert in two.alerts(GROUP):
        in_minute = [t for t in stamps if alert.at - 60 < t <= alert.at]
        assert len(in_minute) <= 20, (alert.at, len(in_minute))
    first_minute = [c for c in two.alerts(GROUP) if c.at < two.alerts(GROUP)[0].at + 60]
    assert len(first_minute) < 20  # the replies took room alerts alone would have had


async def test_replies_to_chats_without_alerts_are_not_recorded(two: TwoProcesses) -> None:
    await two.command("/help", 4499)
    assert await two.recorded_sends() == 0
    await two.command("/subscribe", 4499)
    assert await two.recorded_sends() == 1  # the confirmation: the chat gets alerts now
