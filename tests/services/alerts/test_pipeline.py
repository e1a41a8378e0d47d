"""Matcher and delivery worker against a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.alerts.delivery import AlertSender, DeliveryWorker, Outcome, SendResult
from services.alerts.matcher import AlertMatcher
from services.alerts.ratelimit import TokenBucket
from services.alerts.subscriptions import ChatRef, SubscriptionService
from services.ingest import IngestService
from services.parsing import RawArticle
from storage.alerts import OutboxRepository
from storage.chat_sends import ChatSendRepository
from storage.models import OutboxMessage
from storage.search_index import SearchIndex
from tests.conftest import EngineFactory, FixedClock
from tests.helpers.alerts import ScriptedSender

ALICE = ChatRef(101, "private")
GROUP = ChatRef(-500, "group", "Readers")


class Pipeline:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: FixedClock, tmp: Path
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.subscriptions = SubscriptionService(sessions, SearchIndex(None), clock=clock)
        self.ingest = IngestService(sessions, clock=clock)
        self.matcher = AlertMatcher(sessions, clock=clock)
        self.sender = ScriptedSender()
        self.worker = self.make_worker(self.sender)

    def make_worker(self, sender: AlertSender, name: str = "w1") -> DeliveryWorker:
        async def sleep(seconds: float) -> None:
            self.clock.now += timedelta(seconds=seconds)

        bucket = TokenBucket(
            1000, burst=1000, clock=lambda: self.clock.now.timestamp(), sleep=sleep
        )
        return DeliveryWorker(self.sessions, sender, clock=self.clock, worker_id=name, rate=bucket)

    async def start(self) -> None:
        assert await self.matcher.run_once() == 0  # the first run only places the cursor

    async def publish(self, *titles: str, notify: bool = True) -> list[int]:
        items = [
            (RawArticle(title=t, body=f"{t}. The full story of {t.lower()}."), "t") for t in titles
        ]
        report = await self.ingest.ingest(items, notify=lambda _published: notify)
        return report.added_ids

    async def claim_as(self, worker: str, *, lease: timedelta) -> int:
        """Claim due alerts for another worker (one that then dies); return how many."""
        now = self.clock.now
        async with self.sessions.begin() as session:
            return len(await OutboxRepository(session).claim(worker, now, now + lease, 10))

    async def statuses(self) -> list[tuple[int, int, str]]:
        async with self.sessions() as session:
            rows = await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
            return [(r.chat_id, r.article_id, r.status) for r in rows.scalars()]


@pytest.fixture
async def pipeline(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> Pipeline:
    p = Pipeline(sessions, clock, tmp_path)
    await p.start()
    return p


async def test_each_new_article_reaches_each_matching_chat_once(pipeline: Pipeline) -> None:
    await pipeline.subscriptions.subscribe(ALICE, 0, "iran", 1)
    await pipeline.subscriptions.subscribe(ALICE, 0, "nuclear", 1)
    await pipeline.subscriptions.subscribe(GROUP, 0, "", 2)
    iran, sport = await pipeline.publish("Iran nuclear talks", "Football final")
    assert await pipeline.matcher.run_once() == 3
    assert await pipeline.matcher.run_once() == 0
    assert await pipeline.worker.deliver_once() == 2  # one per chat per round
    pipeline.clock.now += timedelta(seconds=5)
    assert await pipeline.worker.deliver_once() == 1
    assert sorted((s.chat_id, s.article_ids[0]) for s in pipeline.sender.sent) == sorted(
        [(ALICE.id, iran), (GROUP.id, iran), (GROUP.id, sport)]
    )
    assert {status for *_, status in await pipeline.statuses()} == {"sent"}


async def test_silent_articles_and_older_articles_are_not_alerted(pipeline: Pipeline) -> None:
    await pipeline.publish("Old news about iran")
    pipeline.clock.now += timedelta(seconds=1)
    await pipeline.subscriptions.subscribe(ALICE, 0, "iran", 1)
    pipeline.clock.now += timedelta(seconds=1)
    await pipeline.publish("Back catalogue iran story", notify=False)
    assert await pipeline.matcher.run_once() == 0
    await pipeline.publish("Fresh iran story")
    assert await pipeline.matcher.run_once() == 1


async def test_a_group_gets_twenty_alerts_a_minute_then_waits_out_the_minute(
    pipeline: Pipeline,
) -> None:
    await pipeline.subscriptions.subscribe(GROUP, 0, "", 2)
    await pipeline.publish(*(f"Story number {n}" for n in range(22)))
    await pipeline.matcher.run_once()
    start = pipeline.clock.now
    for n in range(20):  # one a second, as fast as Telegram allows a chat
        pipeline.clock.now = start + timedelta(seconds=n)
        assert await pipeline.worker.deliver_once() == 1
        pipeline.clock.now += timedelta(seconds=0.9)
        assert await pipeline.worker.deliver_once() == 0  # not two within a second
    pipeline.clock.now = start + timedelta(seconds=59.9)
    assert await pipeline.worker.deliver_once() == 0  # twenty within this minute already
    pipeline.clock.now = start + timedelta(seconds=60)
    assert await pipeline.worker.deliver_once() == 1  # the first has left the minute
    pipeline.clock.now = start + timedelta(seconds=60.9)
    assert await pipeline.worker.deliver_once() == 0  # the second has not yet
    pipeline.clock.now = start + timedelta(seconds=61)
    assert await pipeline.worker.deliver_once() == 1
    assert len(pipeline.sender.sent) == 22


async def test_the_chat_owed_the_most_alerts_is_claimed_first(pipeline: Pipeline) -> None:
    # A chat owed many alerts needs a second for each however fast the rest goes: it starts
    # first, so its chain runs beside the single alerts instead of after them.
    await pipeline.subscriptions.subscribe(ALICE, 0, "harbour", 1)
    await pipeline.subscriptions.subscribe(GROUP, 0, "storm", 2)
    (harbour,) = await pipeline.publish("Harbour strike")
    await pipeline.matcher.run_once()
    pipeline.clock.now += timedelta(seconds=1)
    storm, _ = await pipeline.publish("Storm warning", "Storm damage")
    await pipeline.matcher.run_once()
    now = pipeline.clock.now
    async with pipeline.sessions.begin() as session:
        claimed = await OutboxRepository(session).claim("w1", now, now + timedelta(minutes=1), 5)
    # ALICE's one alert was due before the group's two: the group still goes first, with its
    # earliest alert (a chat's alerts go in order), and one alert per chat.
    assert [(c.chat_id, c.article_id) for c in claimed] == [
        (GROUP.id, storm),
        (ALICE.id, harbour),
    ]


async def test_an_alert_held_back_by_its_chats_limit_keeps_its_place(
    pipeline: Pipeline,
) -> None:
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    first, second = await pipeline.publish("First story", "Second story")
    await pipeline.matcher.run_once()
    pipeline.clock.now += timedelta(seconds=5)
    async with pipeline.sessions.begin() as session:  # a reply went to the chat just now
        await ChatSendRepository(session).record_many([ALICE.id], pipeline.clock.now)
    assert await pipeline.worker.deliver_once() == 0  # held: one a second per chat
    pipeline.clock.now += timedelta(seconds=1)
    assert await pipeline.worker.deliver_once() == 1
    pipeline.clock.now += timedelta(seconds=1)
    assert await pipeline.worker.deliver_once() == 1
    assert [s.article_ids[0] for s in pipeline.sender.sent] == [first, second]


async def test_retry_after_defers_exactly_and_sends_once(pipeline: Pipeline) -> None:
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    await pipeline.publish("Storm warning")
    await pipeline.matcher.run_once()
    pipeline.sender.then(SendResult(Outcome.RETRY_AFTER, retry_after=7))
    assert await pipeline.worker.deliver_once() == 0
    pipeline.clock.now += timedelta(seconds=6)
    assert await pipeline.worker.deliver_once() == 0
    pipeline.clock.now += timedelta(seconds=1)
    assert await pipeline.worker.deliver_once() == 1
    assert len(pipeline.sender.sent) == 1 and len(pipeline.sender.attempts) == 2


async def test_forbidden_pauses_the_chat_and_drops_its_queue(pipeline: Pipeline) -> None:
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    await pipeline.publish("First", "Second")
    await pipeline.matcher.run_once()
    pipeline.sender.then(
        SendResult(Outcome.CHAT_GONE, detail="Forbidden: bot was blocked by the user")
    )
    await pipeline.worker.deliver_once()
    assert [s for *_, s in await pipeline.statuses()] == ["dropped", "dropped"]
    assert not (await pipeline.subscriptions.settings(ALICE.id)).active
    await pipeline.publish("Third")
    assert await pipeline.matcher.run_once() == 0  # paused chats are not matched
    await pipeline.subscriptions.chat_joined(ALICE)
    await pipeline.publish("Fourth")
    assert await pipeline.matcher.run_once() == 1


async def test_matching_a_burst_reads_its_chats_in_one_query(
    pipeline: Pipeline, engine: AsyncEngine
) -> None:
    for n in range(40):
        await pipeline.subscriptions.subscribe(ChatRef(1000 + n, "private"), 0, "", n)
    await pipeline.subscriptions.chat_left(1000, "blocked")
    await pipeline.publish("Budget vote", "Harbour reopens")
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        assert await pipeline.matcher.run_once() == 2 * 39  # the paused chat gets nothing
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert sum("FROM chats" in s for s in statements) == 1


async def test_migration_moves_everything_and_delivers_the_pending_alert(
    pipeline: Pipeline,
) -> None:
    await pipeline.subscriptions.subscribe(GROUP, 0, "", 2)
    (article,) = await pipeline.publish("Migration day")
    await pipeline.matcher.run_once()
    pipeline.sender.then(SendResult(Outcome.MIGRATED, new_chat_id=-100777))
    assert await pipeline.worker.deliver_once() == 1
    assert [(s.chat_id, s.article_ids) for s in pipeline.sender.sent] == [(-100777, [article])]
    assert [s.id for s in await pipeline.subscriptions.list_for_chat(-100777)]
    assert await pipeline.subscriptions.list_for_chat(GROUP.id) == []


async def test_network_errors_back_off_then_fail_for_good(pipeline: Pipeline) -> None:
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    await pipeline.publish("Flaky")
    await pipeline.matcher.run_once()
    pipeline.sender.then(*[SendResult(Outcome.TRANSIENT, detail="timed out")] * 8)
    for _ in range(8):
        await pipeline.worker.deliver_once()
        pipeline.clock.now += timedelta(hours=1)
    assert [s for *_, s in await pipeline.statuses()] == ["failed"]
    assert len(pipeline.sender.attempts) == 8


async def test_digest_collects_the_hours_matches_into_one_message(pipeline: Pipeline) -> None:
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    await pipeline.subscriptions.set_digest(ALICE, "hourly")
    ids = await pipeline.publish("Morning one", "Morning two", "Morning three")
    await pipeline.matcher.run_once()
    assert await pipeline.worker.deliver_once() == 0
    pipeline.clock.now = pipeline.clock.now.replace(minute=0) + timedelta(hours=1)
    assert await pipeline.worker.deliver_once() == 1
    (digest,) = pipeline.sender.sent
    assert sorted(digest.article_ids) == sorted(ids) and digest.digest == "hourly"


async def test_quiet_hours_hold_alerts_until_they_end(pipeline: Pipeline) -> None:
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    start = pipeline.clock.now.hour * 60
    await pipeline.subscriptions.set_quiet_hours(ALICE, (start, (start + 120) % 1440))
    await pipeline.publish("Night news")
    await pipeline.matcher.run_once()
    assert await pipeline.worker.deliver_once() == 0
    pipeline.clock.now += timedelta(hours=2)
    assert await pipeline.worker.deliver_once() == 1


async def test_a_dead_workers_claims_expire_and_are_sent_once(pipeline: Pipeline) -> None:
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    await pipeline.publish("Lease test")
    await pipeline.matcher.run_once()
    assert await pipeline.claim_as("dead", lease=timedelta(seconds=30)) == 1
    assert await pipeline.worker.deliver_once() == 0  # leased by the dead worker
    pipeline.clock.now += timedelta(seconds=31)
    assert await pipeline.worker.deliver_once() == 1
    assert await pipeline.worker.deliver_once() == 0


async def test_released_claims_wait_out_each_chats_spacing(pipeline: Pipeline) -> None:
    """After a crash the message in flight may already have gone: no second one within 1 s/3 s."""
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    await pipeline.subscriptions.subscribe(GROUP, 0, "", 2)
    await pipeline.publish("Crash test")
    await pipeline.matcher.run_once()
    assert await pipeline.claim_as("dead", lease=timedelta(minutes=5)) == 2

    assert await pipeline.worker.release_stale_claims() == 2
    assert await pipeline.worker.deliver_once() == 0  # both chats wait out their spacing
    pipeline.clock.now += timedelta(seconds=1)
    assert await pipeline.worker.deliver_once() == 1  # the private chat: 1 s
    assert [s.chat_id for s in pipeline.sender.sent] == [ALICE.id]
    pipeline.clock.now += timedelta(seconds=2)
    assert await pipeline.worker.deliver_once() == 1  # the group: 3 s
    assert [s.chat_id for s in pipeline.sender.sent] == [ALICE.id, GROUP.id]
    assert await pipeline.worker.release_stale_claims() == 0


@pytest.mark.parametrize("engine_factory", ["postgres"], indirect=True)
async def test_concurrent_workers_on_postgres_never_send_twice(
    engine_factory: EngineFactory, clock: FixedClock, tmp_path: Path
) -> None:
    from storage.db import create_session_factory

    sessions = create_session_factory(engine_factory.new())
    pipeline = Pipeline(sessions, clock, tmp_path)
    await pipeline.start()
    for chat in range(60):
        await pipeline.subscriptions.subscribe(ChatRef(1000 + chat, "private"), 0, "", chat)
    await pipeline.publish("Big news", "More news")
    assert await pipeline.matcher.run_once() == 120
    senders = [ScriptedSender() for _ in range(4)]
    workers = [
        DeliveryWorker(
            create_session_factory(engine_factory.new()),
            sender,
            clock=clock,
            worker_id=f"w{i}",
            rate=TokenBucket(1000, burst=1000),
        )
        for i, sender in enumerate(senders)
    ]
    for _ in range(30):
        sent = await asyncio.gather(*(w.deliver_once() for w in workers))
        clock.now += timedelta(seconds=2)
        if not any(sent):
            break
    deliveries = [(s.chat_id, a) for sender in senders for s in sender.sent for a in s.article_ids]
    assert len(deliveries) == 120
    assert len(set(deliveries)) == 120


async def test_turning_the_digest_off_releases_held_alerts_at_once(pipeline: Pipeline) -> None:
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    await pipeline.subscriptions.set_digest(ALICE, "daily")
    await pipeline.publish("Held for the morning")
    await pipeline.matcher.run_once()
    assert await pipeline.worker.deliver_once() == 0
    await pipeline.subscriptions.set_digest(ALICE, "off")
    assert await pipeline.worker.deliver_once() == 1


class Pause:
    """Holds a worker once, just after the first statement ``after`` matches (on its SQL),
    and runs ``meanwhile`` there: how a worker starved of CPU (or whose database backend
    is) sees the others, between a read and the write that relies on it."""

    def __init__(
        self, after: Callable[[str], bool], meanwhile: Callable[[], Awaitable[object]]
    ) -> None:
        self._meanwhile: Callable[[], Awaitable[object]] | None = meanwhile
        pause = self

        class PausingSession(AsyncSession):
            async def execute(self, statement: Any, *args: Any, **kwargs: Any) -> Any:
                result = await super().execute(statement, *args, **kwargs)
                run = pause._meanwhile
                if run is not None and after(str(statement)):
                    pause._meanwhile = None
                    await run()
                return result

        self.session_class = PausingSession

    @property
    def happened(self) -> bool:
        return self._meanwhile is None


def paused_worker(
    engine_factory: EngineFactory, pause: Pause, clock: FixedClock, sender: ScriptedSender
) -> DeliveryWorker:
    sessions = async_sessionmaker(
        engine_factory.new(), expire_on_commit=False, class_=pause.session_class
    )
    rate = TokenBucket(1000, burst=1000)
    return DeliveryWorker(sessions, sender, clock=clock, worker_id="w2", rate=rate)


def is_claims_read(sql: str) -> bool:
    return "JOIN chats" in sql


def is_digests_read(sql: str) -> bool:
    return "FROM outbox" in sql and "outbox.topic =" in sql


async def test_an_alert_sent_between_a_claims_read_and_its_lease_is_not_claimed_again(
    engine_factory: EngineFactory, clock: FixedClock, tmp_path: Path
) -> None:
    """Two workers: the second reads the queue, the first claims, sends and settles the
    alert before the second leases what it read. (Seen as 122 deliveries of 120.)"""
    from storage.db import create_session_factory

    pipeline = Pipeline(create_session_factory(engine_factory.new()), clock, tmp_path)
    await pipeline.start()
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    (article,) = await pipeline.publish("Raced news")
    assert await pipeline.matcher.run_once() == 1
    first = pipeline.worker
    pause = Pause(is_claims_read, lambda: first.deliver_once())
    second_sender = ScriptedSender()
    second = paused_worker(engine_factory, pause, clock, second_sender)
    assert await second.deliver_once() == 0
    assert pause.happened
    assert [(s.chat_id, s.article_ids) for s in pipeline.sender.sent] == [(ALICE.id, [article])]
    assert second_sender.attempts == []
    assert await pipeline.statuses() == [(ALICE.id, article, "sent")]
    # (Leased again, the sent alert was put back "pending" by the chat's spacing, and went
    # a second time once the chat had room.)
    clock.now += timedelta(seconds=5)
    assert await second.deliver_once() == 0
    assert await first.deliver_once() == 0
    assert len(pipeline.sender.sent) == 1 and second_sender.sent == []


async def test_a_digests_other_alerts_are_leased_so_no_other_worker_sends_them_too(
    engine_factory: EngineFactory, clock: FixedClock, tmp_path: Path
) -> None:
    """The second worker has claimed the digest's first alert and read the rest of it when
    the first worker claims, sends and settles the second alert on its own."""
    from storage.db import create_session_factory

    pipeline = Pipeline(create_session_factory(engine_factory.new()), clock, tmp_path)
    await pipeline.start()
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    await pipeline.subscriptions.set_digest(ALICE, "hourly")
    articles = await pipeline.publish("Morning news", "Noon news")
    assert await pipeline.matcher.run_once() == 2
    clock.now = clock.now.replace(minute=0) + timedelta(hours=1)
    first = pipeline.worker
    pause = Pause(is_digests_read, lambda: first.deliver_once())
    second_sender = ScriptedSender()
    second = paused_worker(engine_factory, pause, clock, second_sender)
    await second.deliver_once()
    assert pause.happened
    for _ in range(5):  # until nothing is left to send
        clock.now += timedelta(seconds=5)
        await first.deliver_once()
        await second.deliver_once()
    went = [
        a for sender in (pipeline.sender, second_sender) for s in sender.sent for a in s.article_ids
    ]
    assert sorted(went) == sorted(articles)
    assert [status for _, _, status in await pipeline.statuses()] == ["sent", "sent"]
