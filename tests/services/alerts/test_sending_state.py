"""The outbox's "sending" state: what a sender that died mid-request leaves, and what the
next leader makes of it (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from services.alerts.outcomes import SendResult
from services.articles import ArticleView
from storage.alerts import OutboxRepository
from storage.chat_sends import ChatSendRepository
from storage.models import OutboxMessage
from tests.services.alerts.test_pipeline import ALICE, GROUP, Pipeline, pipeline

__all__ = ["pipeline"]  # the fixture


async def die_mid_request(pipeline: Pipeline) -> int:
    """Claim the due alerts and record them "sending", as a sender does just before its
    requests; then nothing more (the process was killed). Returns how many."""
    now = pipeline.clock.now
    async with pipeline.sessions.begin() as session:
        outbox = OutboxRepository(session)
        claimed = await outbox.claim("dead", now, now + timedelta(minutes=10), 10)
        await outbox.mark_sending([c.id for c in claimed], "dead", now + timedelta(minutes=10))
    return len(claimed)


async def row(pipeline: Pipeline, chat_id: int) -> OutboxMessage:
    async with pipeline.sessions() as session:
        found = await session.execute(select(OutboxMessage).where(OutboxMessage.chat_id == chat_id))
        return found.scalar_one()


async def test_an_alert_in_flight_at_a_crash_goes_once_more_after_the_chats_spacing(
    pipeline: Pipeline,
) -> None:
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    await pipeline.subscriptions.subscribe(GROUP, 0, "", 2)
    await pipeline.publish("Crash test")
    await pipeline.matcher.run_once()
    assert await die_mid_request(pipeline) == 2
    assert await pipeline.worker.deliver_once() == 0  # a claimed "sending" row is not taken

    assert await pipeline.worker.release_stale_claims() == 2
    alice = await row(pipeline, ALICE.id)
    assert (alice.status, alice.unsure, alice.claimed_by) == ("pending", 1, None)
    assert await pipeline.worker.deliver_once() == 0  # it may have arrived: spacing first
    pipeline.clock.now += timedelta(seconds=3)
    assert await pipeline.worker.deliver_once() == 2
    assert (await row(pipeline, ALICE.id)).status == "sent"


async def test_an_alert_in_flight_at_two_crashes_is_not_sent_a_third_time(
    pipeline: Pipeline,
) -> None:
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    await pipeline.publish("Crash test")
    await pipeline.matcher.run_once()
    for _ in range(2):
        assert await die_mid_request(pipeline) == 1
        assert await pipeline.worker.release_stale_claims() == 1
        pipeline.clock.now += timedelta(seconds=5)
    alice = await row(pipeline, ALICE.id)
    assert (alice.status, alice.unsure) == ("unconfirmed", 1)
    assert await pipeline.worker.deliver_once() == 0
    assert pipeline.sender.attempts == []


async def test_a_sending_row_whose_lease_ran_out_is_recovered_by_the_running_leader(
    pipeline: Pipeline,
) -> None:
    await pipeline.subscriptions.subscribe(ALICE, 0, "", 1)
    await pipeline.publish("Lost its database mid-send")
    await pipeline.matcher.run_once()
    assert await die_mid_request(pipeline) == 1
    now = pipeline.clock.now
    async with pipeline.sessions.begin() as session:
        outbox = OutboxRepository(session)
        assert await outbox.recover_sending(now, expired_only=True) == []  # lease still runs
        later = now + timedelta(minutes=11)
        assert await outbox.recover_sending(later, expired_only=True) == [ALICE.id]
    assert (await row(pipeline, ALICE.id)).unsure == 1


async def stamps(pipeline: Pipeline, chat_id: int) -> list[datetime]:
    """When the chats' shared record counts this chat's recent messages."""
    async with pipeline.sessions() as session:
        since = pipeline.clock.now - timedelta(minutes=5)
        return (await ChatSendRepository(session).since([chat_id], since)).get(chat_id, [])


async def test_a_dead_senders_last_message_counts_from_the_recovery(pipeline: Pipeline) -> None:
    # When it arrived, if it did, is not known, only that it was before the next leader
    # recovered it: a group's minute counts it from then, never from before it left.
    await pipeline.subscriptions.subscribe(GROUP, 0, "", 2)
    await pipeline.publish("Crash test")
    await pipeline.matcher.run_once()
    died_at = pipeline.clock.now
    async with pipeline.sessions.begin() as session:
        await ChatSendRepository(session).record_many([GROUP.id], died_at)
    assert await die_mid_request(pipeline) == 1
    pipeline.clock.now += timedelta(seconds=5)
    assert await pipeline.worker.release_stale_claims() == 1
    assert await stamps(pipeline, GROUP.id) == [died_at + timedelta(seconds=5)]


class SlowAnswers:
    """Telegram answers each send 0.4 s after the request began."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    async def send(
        self, chat_id: int, topic: int, articles: Sequence[ArticleView], digest: str
    ) -> SendResult:
        self._pipeline.clock.now += timedelta(seconds=0.4)
        return await self._pipeline.sender.send(chat_id, topic, articles, digest)


async def test_a_message_counts_from_its_answer_in_the_shared_record(pipeline: Pipeline) -> None:
    # Telegram counts a message when it arrives, which is after its request began and before
    # its answer: a sender after a crash, reading this record alone, must count from the
    # answer, or a group's twenty-first alert could arrive within the minute of its first.
    await pipeline.subscriptions.subscribe(GROUP, 0, "", 2)
    await pipeline.publish("Slow answer")
    await pipeline.matcher.run_once()
    began = pipeline.clock.now
    worker = pipeline.make_worker(SlowAnswers(pipeline))
    assert await worker.deliver_once() == 1
    assert await stamps(pipeline, GROUP.id) == [began + timedelta(seconds=0.4)]
