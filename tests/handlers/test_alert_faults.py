"""Alert delivery when Telegram misbehaves: the real Telegram sender and python-telegram-bot
Bot against the fake Bot API with faults, the real matcher, outbox and worker, on SQLite
and PostgreSQL, with a hand-moved clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from handlers.sender import TelegramAlertSender
from services.alerts.delivery import AlertSender, DeliveryWorker, SendResult
from services.alerts.matcher import AlertMatcher
from services.alerts.ratelimit import TokenBucket
from services.alerts.subscriptions import ChatRef, SubscriptionService
from services.articles import ArticleView
from services.ingest import IngestService
from services.parsing import RawArticle
from storage.models import OutboxMessage
from storage.search_index import SearchIndex
from tests.conftest import FixedClock
from tests.helpers.botapi import ApiCall, FakeBotApi
from tests.helpers.fake_request import FakeRequest

TOKEN = "123456:TEST-token-never-logged"
ALICE, BOB, CAROL = 701, 702, 703
READERS = -900001  # a group
READ_TIMEOUT = 0.2  # the sender's, in real seconds: faults hold answers longer than this


class Rig:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: FixedClock, bot: Bot
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.bot = bot
        self.api: FakeBotApi = bot.request.api  # type: ignore[attr-defined]
        self.subscriptions = SubscriptionService(sessions, SearchIndex(None), clock=clock)
        self.ingest = IngestService(sessions, clock=clock)
        self.matcher = AlertMatcher(sessions, clock=clock)
        self.sender: AlertSender = TelegramAlertSender(bot, read_timeout=READ_TIMEOUT)

    def worker(self, *, max_in_flight: int = 4, max_attempts: int = 8) -> DeliveryWorker:
        async def sleep(seconds: float) -> None:
            self.clock.now += timedelta(seconds=seconds)

        return DeliveryWorker(
            self.sessions,
            self.sender,
            clock=self.clock,
            worker_id="faults",
            rate=TokenBucket(
                1000, burst=1000, clock=lambda: self.clock.now.timestamp(), sleep=sleep
            ),
            max_in_flight=max_in_flight,
            max_attempts=max_attempts,
        )

    async def subscribe(self, *chats: int) -> None:
        for chat_id in chats:
            kind = "private" if chat_id > 0 else "group"
            result = await self.subscriptions.subscribe(ChatRef(chat_id, kind), 0, "", chat_id)
            assert result.subscription is not None

    async def publish(self, title: str) -> None:
        await self.ingest.ingest([(RawArticle(title=title, body=f"{title}. More of it."), "t")])
        await self.matcher.run_once()

    def advance(self, seconds: float) -> None:
        self.clock.now += timedelta(seconds=seconds)

    def delivered(self, chat_id: int) -> list[ApiCall]:
        """Alerts the fake accepted (delivered) to chat_id, whatever it answered."""
        return [
            c
            for c in self.api.calls_to("sendMessage")
            if c.params["chat_id"] == chat_id and c.error_code is None
        ]

    async def rows(self) -> dict[int, OutboxMessage]:
        async with self.sessions() as session:
            found = await session.execute(select(OutboxMessage))
            return {row.chat_id: row for row in found.scalars()}


@pytest.fixture
async def rig(sessions: async_sessionmaker[AsyncSession], clock: FixedClock) -> AsyncIterator[Rig]:
    api = FakeBotApi(clock=lambda: clock.now.timestamp())
    async with Bot(TOKEN, request=FakeRequest(api)) as bot:
        rig = Rig(sessions, clock, bot)
        assert await rig.matcher.run_once() == 0  # places the cursor
        yield rig


async def test_an_unreadable_answer_is_sent_once_more_then_left_unconfirmed(rig: Rig) -> None:
    await rig.subscribe(ALICE, BOB, READERS)
    rig.api.add_fault("sendMessage", ALICE, garbage=True)  # delivered, answer mangled
    await rig.publish("Harbour strike enters its second week")
    worker = rig.worker()

    assert await worker.deliver_once() == 2  # Bob and the group are not held up
    assert len(rig.delivered(BOB)) == len(rig.delivered(READERS)) == 1
    assert len(rig.delivered(ALICE)) == 1
    alice = (await rig.rows())[ALICE]
    assert (alice.status, alice.unsure, alice.claimed_by) == ("pending", 1, None)

    for _ in range(10):  # long after every backoff: at most one repeat, never a loop
        rig.advance(3600)
        await worker.deliver_once()
    assert len(rig.delivered(ALICE)) == 2
    assert (await rig.rows())[ALICE].status == "unconfirmed"
    assert len(rig.delivered(BOB)) == 1


@pytest.mark.parametrize(
    "fault",
    [{"answer_after": 1.0}, {"drop": True}, {"garbage": True}],
    ids=["answer-after-the-read-timeout", "connection-dropped", "garbage"],
)
async def test_a_send_that_may_have_arrived_is_repeated_once_and_then_recorded_sent(
    rig: Rig, fault: dict[str, object]
) -> None:
    await rig.subscribe(ALICE)
    rig.api.add_fault("sendMessage", ALICE, times=1, **fault)  # type: ignore[arg-type]
    await rig.publish("Harbour strike enters its second week")
    worker = rig.worker()
    assert await worker.deliver_once() == 0
    rig.advance(0.5)
    assert await worker.deliver_once() == 0  # the chat's spacing counts from the lost answer
    rig.advance(60)
    assert await worker.deliver_once() == 1
    assert len(rig.delivered(ALICE)) == 2
    row = (await rig.rows())[ALICE]
    assert (row.status, row.unsure, row.attempts) == ("sent", 1, 1)


async def test_a_request_that_never_left_is_retried_without_counting_as_unsure(
    rig: Rig,
) -> None:
    await rig.subscribe(ALICE)
    rig.api.add_fault("sendMessage", ALICE, times=3, refuse=True)
    await rig.publish("Harbour strike enters its second week")
    worker = rig.worker()
    for _ in range(3):
        assert await worker.deliver_once() == 0
        rig.advance(3600)
    assert await worker.deliver_once() == 1
    assert len(rig.delivered(ALICE)) == 1
    row = (await rig.rows())[ALICE]
    assert (row.status, row.unsure, row.attempts) == ("sent", 0, 3)


class ExplodesFor:
    """The Telegram sender, except that sending to one chat raises (a bug, say)."""

    def __init__(self, inner: AlertSender, chat_id: int) -> None:
        self._inner = inner
        self._chat_id = chat_id
        self.raised = 0

    async def send(
        self, chat_id: int, topic: int, articles: Sequence[ArticleView], digest: str
    ) -> SendResult:
        if chat_id == self._chat_id:
            self.raised += 1
            raise RuntimeError("rendering blew up")
        return await self._inner.send(chat_id, topic, articles, digest)


@pytest.mark.parametrize("max_in_flight", [1, 4])
async def test_an_exception_for_one_chat_is_its_failed_attempt_and_the_rest_go_at_once(
    rig: Rig, caplog: pytest.LogCaptureFixture, max_in_flight: int
) -> None:
    await rig.subscribe(ALICE, BOB, CAROL, READERS)
    rig.sender = exploding = ExplodesFor(rig.sender, BOB)
    rig.api.add_fault("sendMessage", CAROL, garbage=True)
    await rig.publish("Harbour strike enters its second week")
    worker = rig.worker(max_in_flight=max_in_flight, max_attempts=3)

    with caplog.at_level(logging.INFO, logger="services.alerts.delivery"):
        assert await worker.deliver_once() == 2  # Alice and the group, in the same pass
        bob = (await rig.rows())[BOB]
        assert (bob.status, bob.attempts, bob.claimed_by) == ("pending", 1, None)
        for _ in range(5):
            rig.advance(3600)
            await worker.deliver_once()

    rows = await rig.rows()
    assert rows[BOB].status == "failed"
    assert exploding.raised == 3  # max_attempts, then no more
    assert "RuntimeError: rendering blew up" in (rows[BOB].last_error or "")
    assert all(row.claimed_by is None for row in rows.values())
    errors = [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("services")
    ]
    assert len(errors) == 1 and str(BOB) in errors[0].getMessage()
    assert len(rig.delivered(ALICE)) == len(rig.delivered(READERS)) == 1


async def test_paid_broadcasts_ask_for_them_on_the_wire(rig: Rig) -> None:
    await rig.subscribe(ALICE, BOB)
    await rig.publish("Harbour strike enters its second week")
    rig.sender = TelegramAlertSender(rig.bot, paid_broadcast=True)
    assert await rig.worker().deliver_once() == 2
    assert [c.params.get("allow_paid_broadcast") for c in rig.api.calls_to("sendMessage")] == [
        True,
        True,
    ]


async def test_without_paid_broadcasts_the_parameter_is_not_sent(rig: Rig) -> None:
    await rig.subscribe(ALICE)
    await rig.publish("Harbour strike enters its second week")
    assert await rig.worker().deliver_once() == 1
    (call,) = rig.api.calls_to("sendMessage")
    assert "allow_paid_broadcast" not in call.params
