"""The sending loop: outbox rows out to Telegram within its flood limits, none lost.

Several sends are in flight at once (Telegram is a round trip away; one at a time gives 9 a
second at 100 ms), never two to one chat. Each alert is recorded "sending" before its
request and settled after the answer, so after a crash exactly the alerts that may have
arrived are known; those, and any send whose answer never came or could not be read, go
once more at most. At paid-broadcast rates the commits are shared: a group of the next sends
(``group_size``, about 50 ms of them) is recorded "sending" in one transaction just before
their requests, and the answers that came in while one transaction was being written are
settled together in the next.
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
from services.alerts.grouped import GroupCommit
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
class Delivered:
    """A job Telegram accepted, waiting for its "sent" to be committed with others."""

    ids: list[int]
    chat_id: int
    kind: str


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


def _after(now: datetime, seconds: float) -> Callable[[str], datetime]:
    """``hold_back``'s "until": the same moment for a chat of any kind."""
    moment = now + timedelta(seconds=seconds)
    return lambda _kind: moment


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
        group_size: int = 1,
        # Longer than any one send can take (three requests of up to 40 s each): a lease
        # that runs out under a live request would let its alert go twice.
        lease: timedelta = timedelta(minutes=10),
        batch_size: int = 30,
        max_attempts: int = 8,
        idle_seconds: float = 0.25,
        monotonic: Callable[[], float] = time.monotonic,
        stats: DeliveryStats | None = None,
    ) -> None:
        if max_in_flight < 1 or group_size < 1:
            raise ValueError("max_in_flight and group_size must be at least 1")
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
        self._group_size = group_size
        self._delivered = GroupCommit(self._record_delivered)
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
                    log.info("%s; %s", self.stats.summary(), self._commits())
                if not started:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self._idle_seconds)
        finally:
            if prefetched is not None:
                with contextlib.suppress(Exception):
                    await self._release([row for job in await prefetched for row in job.rows])
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            log.info("%s; %s", self.stats.summary(), self._commits())

    def _commits(self) -> str:
        shared = self._delivered
        return f"{shared.items} sent recorded in {shared.writes} commits"

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
        marked = 0  # jobs[:marked] are recorded "sending" (or were held back)
        held: set[int] = set()  # jobs (their first row) the chats' shared record held back
        ahead: asyncio.Task[set[int]] | None = None  # recording the next group meanwhile
        position = 0  # jobs[position:] have not started
        try:
            for position, job in enumerate(jobs):
                if stop is not None and stop.is_set():
                    break
                if prefetch and full and prefetched is None and position >= len(jobs) // 2:
                    # The chats still waiting in this batch are as good as busy.
                    reserved = self._busy | {j.rows[0].chat_id for j in jobs[position:]}
                    prefetched = asyncio.create_task(self._claim(reserved))
                await self._slots.acquire()
                chat_id = job.rows[0].chat_id
                self._busy.add(chat_id)
                began: float | None = None
                try:
                    began = await self._pace()
                    if position == marked:
                        marked, ahead = await self._mark_group(jobs, marked, ahead, held)
                except BaseException:
                    if self._window is not None and began is not None:
                        self._window.cancel()
                    self._busy.discard(chat_id)
                    self._slots.release()
                    raise
                if job.rows[0].id in held:  # back in the queue; its chat waits a little
                    if self._window is not None:
                        self._window.cancel()
                    self._busy.discard(chat_id)
                    self._slots.release()
                    continue
                task = asyncio.create_task(self._deliver(job, began), name=f"alert to {chat_id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                started.append(task)
            else:
                position = len(jobs)
        except Exception:
            with contextlib.suppress(Exception):
                await self._put_back(jobs[position:], ahead)
            raise
        await self._put_back(jobs[position:], ahead)
        return started, prefetched

    async def _mark_group(
        self, jobs: list[Job], start: int, ahead: asyncio.Task[set[int]] | None, held: set[int]
    ) -> tuple[int, asyncio.Task[set[int]] | None]:
        """Record the group of jobs from ``start`` "sending" (or wait for ``ahead`` to have),
        adding those held back to ``held``, and begin recording the group after it while this
        one's requests go out."""
        end = min(len(jobs), start + self._group_size)
        held |= await ahead if ahead is not None else await self._mark(jobs[start:end])
        if self._group_size == 1 or end == len(jobs):
            # One at a time (Telegram's own rate), nothing is recorded before its turn.
            return end, None
        following = jobs[end : end + self._group_size]
        return end, asyncio.create_task(self._mark(following), name="alerts sending")

    async def _mark(self, jobs: Sequence[Job]) -> set[int]:
        """Record these jobs "sending", and their messages in the chats' shared record, in one
        transaction; except those whose chat has no room now for what went to it lately
        (replies from any process, the alerts of a sender that died mid-request): they go
        back to the queue and their chat is held back until there is. Returns those (their
        first row's id)."""
        now = self._clock()
        async with self._sessions.begin() as session:
            outbox, sends = OutboxRepository(session), ChatSendRepository(session)
            chat_ids = [job.rows[0].chat_id for job in jobs]
            recent = await sends.since(chat_ids, now - timedelta(seconds=CHAT_MEMORY_SECONDS))
            going: list[Job] = []
            held: set[int] = set()
            for job in jobs:
                chat_id = job.rows[0].chat_id
                stamps = [moment.timestamp() for moment in recent.get(chat_id, [])]
                wait = chat_wait(chat_id, stamps, now.timestamp())
                if wait <= 0:
                    going.append(job)
                    continue
                held.add(job.rows[0].id)
                await outbox.defer(job.ids, now, None, count_attempt=False)
                await ChatRepository(session).hold_back([chat_id], _after(now, wait))
                log.debug("alert to chat %s held back %.2f s by its per-chat limits", chat_id, wait)
            if going:
                await outbox.mark_sending(
                    [i for job in going for i in job.ids], self._worker_id, now + self._lease
                )
                await sends.record_many([job.rows[0].chat_id for job in going], now)
        return held

    async def _put_back(self, jobs: Sequence[Job], ahead: asyncio.Task[set[int]] | None) -> None:
        """Jobs not started (stopped, or the database failed): due again, not "sending"."""
        if ahead is not None:  # finished first, or its write could land after ours
            with contextlib.suppress(Exception):
                await ahead
        if jobs:
            await self._release([row for job in jobs for row in job.rows])

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
        try:
            result, chat_id, topic, kind = await self._request(job, began)
            if result.outcome is Outcome.SENT and topic == first.topic:
                # Recorded with the other answers that come in meanwhile, in one commit.
                await self._delivered.add(Delivered(job.ids, chat_id, kind))
                return 1
            return await self._record(job, result, chat_id, topic, kind)
        except Exception as error:
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
        if result.outcome is Outcome.SENT:
            pass  # it went; only recording that failed (tried once more below)
        elif last:
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
        chats_by_spacing: dict[timedelta, list[int]] = {}
        for job in delivered:
            chats_by_spacing.setdefault(spacing(job.kind), []).append(job.chat_id)
        async with self._sessions.begin() as session:
            await OutboxRepository(session).finish(
                [i for job in delivered for i in job.ids], SENT, now
            )
            chats = ChatRepository(session)
            for gap, chat_ids in chats_by_spacing.items():
                await chats.set_next_send_many(chat_ids, now + gap)

    async def _migrate(self, old_id: int, new_id: int) -> None:
        async with self._sessions.begin() as session:
            await ChatRepository(session).migrate(old_id, new_id, self._clock())
