"""The sending loop: outbox rows out to Telegram within its flood limits, none lost.

Several sends are in flight at once (Telegram is a round trip away; one at a time gives 9 a
second at 100 ms), never two to one chat. Each alert is recorded "sending" just before its
request and settled after the answer, so after a crash exactly the alerts that may have
arrived are known; those, and any send whose answer never came or could not be read, go
once more at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.batch import Job, prepare
from services.alerts.ratelimit import CHAT_MEMORY_SECONDS, SendWindow, TokenBucket, chat_wait
from services.alerts.stats import DeliveryStats
from services.articles import ArticleView
from storage.alerts import (
    DROPPED,
    FAILED,
    SENT,
    ChatRepository,
    Claimed,
    OutboxRepository,
    SubscriptionRepository,
)
from storage.chat_sends import ChatSendRepository
from storage.db import OutageLog, describe, storage_fault

log = logging.getLogger(__name__)

# Telegram: about one message a second to a chat, twenty a minute to a group.
PRIVATE_SPACING = timedelta(seconds=1)
GROUP_SPACING = timedelta(seconds=3)
STATS_EVERY_SECONDS = 60.0
RECOVER_EVERY_SECONDS = 30.0


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
class SendResult:
    outcome: Outcome
    retry_after: float = 0.0
    new_chat_id: int | None = None
    detail: str = ""


class AlertSender(Protocol):
    """Sends one alert (or one digest of several articles) to a chat; never raises."""

    async def send(
        self, chat_id: int, topic: int, articles: Sequence[ArticleView], digest: str
    ) -> SendResult: ...


def spacing(kind: str) -> timedelta:
    """How long a chat of this kind waits between two alerts."""
    return PRIVATE_SPACING if kind == "private" else GROUP_SPACING


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff for network errors: 5 s, 10 s, 20 s ... capped at 30 minutes."""
    return timedelta(seconds=min(5 * 2**attempts, 1800))


class DeliveryWorker:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        sender: AlertSender,
        *,
        clock: Callable[[], datetime],
        worker_id: str,
        rate: TokenBucket,
        window: SendWindow | None = None,
        max_in_flight: int = 1,
        # Longer than any one send can take (three requests of up to 40 s each): a lease
        # that runs out under a live request would let its alert go twice.
        lease: timedelta = timedelta(minutes=10),
        batch_size: int = 30,
        max_attempts: int = 8,
        idle_seconds: float = 0.25,
        monotonic: Callable[[], float] = time.monotonic,
        stats: DeliveryStats | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._sessions = session_factory
        self._sender = sender
        self._clock = clock
        self._worker_id = worker_id
        self._rate = rate
        self._window = window
        self._lease = lease
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._idle_seconds = idle_seconds
        self._monotonic = monotonic
        self.stats = stats or DeliveryStats(max_in_flight)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._busy: set[int] = set()  # chats with a send of ours in flight
        self._tasks: set[asyncio.Task[int]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set; the messages in flight are always finished first."""
        next_stats = self._monotonic() + STATS_EVERY_SECONDS
        next_recovery = self._monotonic() + RECOVER_EVERY_SECONDS
        prefetched: asyncio.Task[list[Job]] | None = None
        outage = OutageLog(log, "alert delivery")
        try:
            while not stop.is_set():
                try:
                    claiming, prefetched = prefetched, None
                    jobs = await claiming if claiming else await self._claim(self._busy)
                    started, prefetched = await self._dispatch(jobs, stop, prefetch=True)
                    if self._monotonic() >= next_recovery:
                        next_recovery = self._monotonic() + RECOVER_EVERY_SECONDS
                        await self._recover(expired_only=True)
                    outage.succeeded()
                except Exception as error:
                    if not outage.failed(error):
                        log.exception("alert delivery failed; retrying shortly")
                    started = []
                if self._monotonic() >= next_stats:
                    next_stats = self._monotonic() + STATS_EVERY_SECONDS
                    log.info("%s", self.stats.summary())
                if not started:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self._idle_seconds)
        finally:
            if prefetched is not None:
                with contextlib.suppress(Exception):
                    await self._release([row for job in await prefetched for row in job.rows])
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            log.info("%s", self.stats.summary())

    async def deliver_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch of due alerts (one per chat), send it, return how many went."""
        started, _ = await self._dispatch(await self._claim(self._busy), stop, prefetch=False)
        return sum(await asyncio.gather(*started))

    async def release_stale_claims(self) -> int:
        """Free the claims a dead sender left behind; call only while no one else sends.

        What it had recorded as "sending" may have arrived: each of those alerts goes once
        more at most, and every chat it held waits out its spacing again before anything else
        goes to it, so a repeat is possible but tripping Telegram's per-chat limit is not.
        """
        return len(await self._recover(expired_only=False))

    async def _recover(self, *, expired_only: bool) -> list[int]:
        now = self._clock()
        async with self._sessions.begin() as session:
            outbox = OutboxRepository(session)
            chat_ids = set(await outbox.recover_sending(now, expired_only=expired_only))
            if not expired_only:
                chat_ids.update(await outbox.release_all_claims())
            await ChatRepository(session).hold_back(chat_ids, lambda kind: now + spacing(kind))
            # No per-chat limit counts further back (the record keeps what went lately).
            await ChatSendRepository(session).forget(
                now - timedelta(seconds=2 * CHAT_MEMORY_SECONDS)
            )
        return sorted(chat_ids)

    async def _claim(self, busy: set[int]) -> list[Job]:
        """Lease due alerts of chats not in ``busy`` and make them ready to send."""
        now = self._clock()
        async with self._sessions.begin() as session:
            claimed = await OutboxRepository(session).claim(
                self._worker_id, now, now + self._lease, self._batch_size, busy
            )
        if not claimed:
            return []
        # Apart from the claim: on SQLite a transaction that writes holds the one write lock,
        # and every send in flight waits for it to record its outcome.
        async with self._sessions.begin() as session:
            return await prepare(session, claimed, now)

    async def _dispatch(
        self, jobs: list[Job], stop: asyncio.Event | None, *, prefetch: bool
    ) -> tuple[list[asyncio.Task[int]], asyncio.Task[list[Job]] | None]:
        """Start the jobs' sends as slots and pacing allow. With ``prefetch``, the next batch
        is claimed while the second half of a full one goes out, so claiming never stalls
        the sends (at 29 a second a pause of 100 ms costs about one message a second)."""
        started: list[asyncio.Task[int]] = []
        prefetched: asyncio.Task[list[Job]] | None = None
        full = len(jobs) >= self._batch_size // 2
        for position, job in enumerate(jobs):
            if stop is not None and stop.is_set():
                await self._release([row for j in jobs[position:] for row in j.rows])
                break
            if prefetch and full and prefetched is None and position >= len(jobs) // 2:
                # The chats still waiting in this batch are as good as busy.
                reserved = self._busy | {j.rows[0].chat_id for j in jobs[position:]}
                prefetched = asyncio.create_task(self._claim(reserved))
            await self._slots.acquire()
            chat_id = job.rows[0].chat_id
            self._busy.add(chat_id)
            try:
                began = await self._pace()
            except BaseException:
                self._busy.discard(chat_id)
                self._slots.release()
                raise
            task = asyncio.create_task(self._deliver(job, began), name=f"alert to {chat_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started.append(task)
        return started, prefetched

    async def _pace(self) -> float:
        """Wait for the overall rate; returns the moment the send starts (for the window)."""
        await self._rate.acquire()
        if self._window is not None:
            return await self._window.start()
        return self._monotonic()

    async def _release(self, rows: Sequence[Claimed]) -> None:
        async with self._sessions.begin() as session:
            await OutboxRepository(session).defer(
                [r.id for r in rows], self._clock(), None, count_attempt=False
            )

    async def _deliver(self, job: Job, began: float) -> int:
        """Send one job and record what became of it; never raises, always frees its slot."""
        first = job.rows[0]
        chat_id, topic, kind = first.chat_id, first.topic, job.kind
        result: SendResult | None = None
        requested = False  # the window counts the send from here
        try:
            if await self._mark_sending(job, chat_id):
                if self._window is not None:
                    self._window.cancel()
                return 0
            requested = True
            result, chat_id, topic, kind = await self._request(job, began)
            return await self._record(job, result, chat_id, topic, kind)
        except Exception as error:
            if self._window is not None and not requested:
                self._window.cancel()
            if result is None:
                # Not one of the outcomes a sender reports: a failed attempt like a network
                # error, retried with backoff until attempts run out. (The Telegram sender
                # itself reports a send that may have arrived as MAYBE_SENT.)
                result = SendResult(Outcome.TRANSIENT, detail=f"{type(error).__name__}: {error}")
            await self._record_failure(job, result, chat_id, topic, kind, error)
            return 0
        finally:
            self._busy.discard(first.chat_id)
            self._busy.discard(chat_id)
            self._slots.release()

    async def _mark_sending(self, job: Job, chat_id: int) -> bool:
        """Record the job "sending", and its message in the chat's shared record, unless
        what went to the chat lately (replies from any process, the alerts of a sender that
        died mid-request) leaves no room now: then the chat is held back until there is, and
        the job goes back to the queue. Returns whether it was held back."""
        now = self._clock()
        async with self._sessions.begin() as session:
            sends = ChatSendRepository(session)
            recent = await sends.since([chat_id], now - timedelta(seconds=CHAT_MEMORY_SECONDS))
            stamps = [moment.timestamp() for moment in recent.get(chat_id, [])]
            wait = chat_wait(chat_id, stamps, now.timestamp())
            if wait > 0:
                await OutboxRepository(session).defer(job.ids, now, None, count_attempt=False)
                until = now + timedelta(seconds=wait)
                await ChatRepository(session).hold_back([chat_id], lambda _kind: until)
                log.debug("alert to chat %s held back %.2f s by its per-chat limits", chat_id, wait)
                return True
            await OutboxRepository(session).mark_sending(
                job.ids, self._worker_id, now + self._lease
            )
            await sends.record(chat_id, now)
        return False

    async def _request(self, job: Job, began: float) -> tuple[SendResult, int, int, str]:
        first = job.rows[0]
        chat_id, topic, kind = first.chat_id, first.topic, job.kind
        for attempt in range(3):  # a migration or a vanished topic re-sends at once
            if attempt:
                began = await self._pace()
            self.stats.request_started()
            asked = self._monotonic()
            outcome = "error"
            try:
                result = await self._sender.send(chat_id, topic, job.articles, job.digest)
                outcome = result.outcome.value
            finally:
                self.stats.request_finished(self._monotonic() - asked, outcome)
                if self._window is not None:
                    # Its round trip from when the request left: the "sending" commit before
                    # it is not network time (see SendWindow.finish).
                    self._window.finish(began, asked)
            if result.outcome is Outcome.MIGRATED and result.new_chat_id is not None:
                await self._migrate(chat_id, result.new_chat_id)
                chat_id, kind = result.new_chat_id, "supergroup"
                self._busy.add(chat_id)
                continue
            if result.outcome is Outcome.TOPIC_GONE and topic != 0:
                topic = 0
                continue
            break
        return result, chat_id, topic, kind

    async def _record_failure(
        self,
        job: Job,
        result: SendResult,
        chat_id: int,
        topic: int,
        kind: str,
        error: Exception,
    ) -> None:
        last = job.rows[0].attempts + 1 >= self._max_attempts
        if last:
            log.error("alert to chat %s failed for good", chat_id, exc_info=error)
        else:
            log.info("alert to chat %s failed (%s); trying again later", chat_id, result.detail)
        try:
            await self._record(job, result, chat_id, topic, kind, logged=True)
        except Exception as failure:
            # The database is out of reach too: the lease runs out and the alert is recovered
            # as "may have arrived" then (see _recover).
            if storage_fault(failure) is None:
                log.exception("could not record the outcome of an alert to chat %s", chat_id)
            else:
                log.warning(
                    "could not record the outcome of an alert to chat %s: %s",
                    chat_id,
                    describe(failure),
                )

    async def _record(
        self,
        job: Job,
        result: SendResult,
        chat_id: int,
        topic: int,
        kind: str,
        *,
        logged: bool = False,
    ) -> int:
        first, ids = job.rows[0], job.ids
        last_attempt = first.attempts + 1 >= self._max_attempts
        now = self._clock()
        async with self._sessions.begin() as session:
            outbox = OutboxRepository(session)
            chats = ChatRepository(session)
            if topic != first.topic:  # the topic is gone: its subscriptions post to General
                await SubscriptionRepository(session).move_topic(chat_id, first.topic, topic)
            outcome = result.outcome
            if outcome is Outcome.SENT:
                await outbox.finish(ids, SENT, now)
                await chats.set_next_send(chat_id, now + spacing(kind))
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
                # It may have arrived: the chat's spacing counts from now, as after a send.
                await chats.set_next_send(chat_id, now + spacing(kind))
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
            elif outcome is Outcome.TRANSIENT and not last_attempt:
                due = now + retry_delay(first.attempts)
                await outbox.defer(ids, due, result.detail, count_attempt=True)
            else:
                if not logged:
                    log.warning("alert to chat %s failed for good: %s", chat_id, result.detail)
                await outbox.finish(ids, FAILED, now, result.detail)
        return 0

    async def _migrate(self, old_id: int, new_id: int) -> None:
        async with self._sessions.begin() as session:
            await ChatRepository(session).migrate(old_id, new_id, self._clock())
