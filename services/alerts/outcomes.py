"""What became of each send, recorded: "sent" for many at once, every other outcome on its own.

The answers that come in while one commit is being written are all recorded "sent" in the next
(at paid-broadcast rates a commit per alert was most of the sender's CPU); a RetryAfter, a
chat that is gone, a send that may have arrived or failed is rare and has its own transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.batch import Job
from services.alerts.grouped import GroupCommit
from services.alerts.ratelimit import ChatWindows, TokenBucket
from storage.alerts import (
    DROPPED,
    FAILED,
    SENT,
    ChatRepository,
    OutboxRepository,
    SubscriptionRepository,
)
from storage.chat_sends import ChatSendRepository
from storage.db import describe, storage_fault

log = logging.getLogger(__name__)

# Telegram: about one message a second to a chat, twenty a minute to a group. After a crash
# the chats a dead sender held wait as if evenly spaced (their last minute is not known here;
# the shared record of sends, checked before each request, has it).
PRIVATE_SPACING = timedelta(seconds=1)
GROUP_SPACING = timedelta(seconds=3)


class Outcome(Enum):
    SENT = "sent"
    RETRY_AFTER = "retry_after"  # flood control: wait exactly as long as asked
    CHAT_GONE = "chat_gone"  # bot blocked, removed, or the chat no longer exists
    MIGRATED = "migrated"  # the group became a supergroup with a new id
    TOPIC_GONE = "topic_gone"  # the forum topic was deleted or closed
    TRANSIENT = "transient"  # not sent (no connection, Telegram answered 5xx): try again later
    MAYBE_SENT = "maybe_sent"  # timed out or unreadable answer: it may have arrived
    PERMANENT = "permanent"  # Telegram refused this message for good


@dataclass(frozen=True, slots=True)
class Delivered:
    """A job Telegram accepted, waiting for its "sent" to be committed with others."""

    ids: list[int]
    chat_id: int
    marked_at: datetime  # its message's moment in the chats' shared record, until now
    recorded_for: int  # the chat that moment is recorded for (before a migration)


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    retry_after: float = 0.0
    new_chat_id: int | None = None
    detail: str = ""


def spacing(kind: str) -> timedelta:
    """How long a chat of this kind waits after a send whose answer never came."""
    return PRIVATE_SPACING if kind == "private" else GROUP_SPACING


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff for network errors: 5 s, 10 s, 20 s ... capped at 30 minutes."""
    return timedelta(seconds=min(5 * 2**attempts, 1800))


class OutcomeRecorder:
    """Records the outcome of each job the sender tried; ``rate`` is paused on RetryAfter."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], datetime],
        rate: TokenBucket,
        max_attempts: int,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._rate = rate
        self._max_attempts = max_attempts
        self._delivered = GroupCommit(self._record_delivered)
        # What went to each chat lately, counted from the answers: a chat's next alert may
        # start a second after its last answer came (so it arrives more than a second after
        # the last one did, however long each way took), and a group's twenty-first a minute
        # after the first of its last twenty was answered. A group gets a burst of twenty,
        # not one every three seconds: as fast as Telegram allows, and a chat owed many
        # alerts is done in a third of the time.
        self._answered = ChatWindows(clock=lambda: self._clock().timestamp())

    @property
    def sent_commits(self) -> tuple[int, int]:
        """Sent alerts recorded so far, and the commits that took them (shared ones)."""
        return self._delivered.items, self._delivered.writes

    async def sent(self, job: Job, chat_id: int, marked_at: datetime) -> None:
        """Telegram accepted the job: recorded with the other answers that come in meanwhile,
        in one commit; returns once that commit is made (raises if it failed).

        ``marked_at``: when the job was recorded "sending", its message's moment in the chats'
        shared record so far; the answer's moment replaces it (see ``_answered_now``)."""
        self._answered.record(chat_id)
        first = job.rows[0].chat_id
        await self._delivered.add(Delivered(job.ids, chat_id, marked_at, first))

    async def failure(
        self,
        job: Job,
        result: SendResult,
        chat_id: int,
        topic: int,
        error: Exception,
        marked_at: datetime | None = None,
    ) -> None:
        """An exception ended the job's attempt: logged, and recorded as ``result`` if the
        database lets it (if not, its lease runs out and it is recovered as "may have
        arrived"). ``marked_at``: as for ``record``, None if it never was."""
        last = job.rows[0].attempts + 1 >= self._max_attempts
        if result.outcome is Outcome.SENT:
            pass  # it went; only recording that failed (tried once more below)
        elif last:
            log.error("alert to chat %s failed for good", chat_id, exc_info=error)
        else:
            log.info("alert to chat %s failed (%s); trying again later", chat_id, result.detail)
        try:
            await self.record(job, result, chat_id, topic, marked_at, logged=True)
        except Exception as failure:
            # The database is out of reach too: the lease runs out and the alert is recovered
            # as "may have arrived" then (DeliveryWorker._recover).
            if storage_fault(failure) is None:
                log.exception("could not record the outcome of an alert to chat %s", chat_id)
            else:
                log.warning(
                    "could not record the outcome of an alert to chat %s: %s",
                    chat_id,
                    describe(failure),
                )

    async def record(
        self,
        job: Job,
        result: SendResult,
        chat_id: int,
        topic: int,
        marked_at: datetime | None = None,
        *,
        logged: bool = False,
    ) -> int:
        """Record one job's outcome in its own transaction; returns 1 if it was sent.

        ``marked_at``: when it was recorded "sending" (None: it never was); a message that went
        or may have gone is moved to now in the chats' shared record."""
        first, ids = job.rows[0], job.ids
        last_attempt = first.attempts + 1 >= self._max_attempts
        now = self._clock()
        async with self._sessions.begin() as session:
            outbox = OutboxRepository(session)
            chats = ChatRepository(session)
            if topic != first.topic:  # the topic is gone: its subscriptions post to General
                await SubscriptionRepository(session).move_topic(chat_id, first.topic, topic)
            outcome = result.outcome
            if outcome in (Outcome.SENT, Outcome.MAYBE_SENT) and marked_at is not None:
                await ChatSendRepository(session).move(first.chat_id, marked_at, now)
            if outcome is Outcome.SENT:
                self._answered.record(chat_id)
                await outbox.finish(ids, SENT, now)
                await chats.set_next_send(chat_id, now + self._room_after(chat_id))
                return 1
            if outcome is Outcome.RETRY_AFTER:
                self._rate.pause(result.retry_after)
                due = now + timedelta(seconds=result.retry_after)
                await outbox.defer(ids, due, result.detail, count_attempt=False)
            elif outcome is Outcome.CHAT_GONE:
                await chats.set_active(chat_id, False, result.detail[:256])
                await outbox.finish(ids, DROPPED, now, result.detail)
                await outbox.drop_pending(chat_id, result.detail)
            elif outcome is Outcome.MAYBE_SENT:
                # It may have arrived: the chat's limits count it from now, as after a send.
                self._answered.record(chat_id)
                await chats.set_next_send(chat_id, now + self._room_after(chat_id))
                due = now + retry_delay(first.attempts)
                stopped = await outbox.maybe_sent(
                    ids, due, result.detail, last_attempt=last_attempt
                )
                if stopped and not logged:
                    log.warning(
                        "alert to chat %s may have arrived; not sending it again: %s",
                        chat_id,
                        result.detail,
                    )
                elif not logged:
                    log.info(
                        "alert to chat %s may have arrived (%s); it goes once more at most",
                        chat_id,
                        result.detail,
                    )
            elif outcome is Outcome.TRANSIENT and not last_attempt:
                due = now + retry_delay(first.attempts)
                await outbox.defer(ids, due, result.detail, count_attempt=True)
            else:
                if not logged:
                    log.warning("alert to chat %s failed for good: %s", chat_id, result.detail)
                await outbox.finish(ids, FAILED, now, result.detail)
        return 0

    async def _record_delivered(self, delivered: Sequence[Delivered]) -> None:
        """Settle the sent jobs that came in together, in one transaction."""
        now = self._clock()
        chats_by_wait: dict[timedelta, list[int]] = {}  # nearly all wait the one second
        for job in delivered:
            chats_by_wait.setdefault(self._room_after(job.chat_id), []).append(job.chat_id)
        async with self._sessions.begin() as session:
            await OutboxRepository(session).finish(
                [i for job in delivered for i in job.ids], SENT, now
            )
            await self._answered_now(ChatSendRepository(session), delivered, now)
            chats = ChatRepository(session)
            for wait, chat_ids in chats_by_wait.items():
                await chats.set_next_send_many(chat_ids, now + wait)

    @staticmethod
    async def _answered_now(
        sends: ChatSendRepository, delivered: Sequence[Delivered], now: datetime
    ) -> None:
        """Each message's moment in the chats' shared record becomes its answer's.

        It was recorded as its request began, before it left; Telegram counts it when it
        arrives, which may be later (a slow commit, a wait for the send window, the way
        there). A sender after a crash counts from this record alone, and a group's
        twenty-first alert a minute after the first one's request began could then arrive
        within the same minute as it. The answer comes after the arrival."""
        chats_by_mark: dict[datetime, list[int]] = {}  # a group of sends shares its moment
        for job in delivered:
            chats_by_mark.setdefault(job.marked_at, []).append(job.recorded_for)
        for marked_at, chat_ids in chats_by_mark.items():
            await sends.move_many(chat_ids, marked_at, now)

    def _room_after(self, chat_id: int) -> timedelta:
        """From now until the chat has room for another message: a second, or longer for a
        group whose minute is full."""
        wait = self._answered.wait_for(chat_id)
        return PRIVATE_SPACING if wait <= 1.0 else timedelta(seconds=wait)
