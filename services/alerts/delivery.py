"""The sending loop: outbox rows out to Telegram within its flood limits, none lost.

Several sends are in flight at once (Telegram is a round trip away; one at a time gives 9 a
second at 100 ms), never two to one chat. Each alert is recorded "sending" before its
request and settled after the answer, so after a crash exactly the alerts that may have
arrived are known; those, and any send whose answer never came or could not be read, go
once more at most. At paid-broadcast rates the commits are shared: a group of the next sends
(``group_size``, about 25 ms of them) is recorded "sending" in one transaction just before
their requests, and the answers that came in while one transaction was being written are
settled together in the next (services/alerts/outcomes.py records what became of each send).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.batch import Job, prepare
from services.alerts.outcomes import Outcome as Outcome
from services.alerts.outcomes import OutcomeRecorder
from services.alerts.outcomes import SendResult as SendResult
from services.alerts.outcomes import spacing as spacing
from services.alerts.ratelimit import CHAT_MEMORY_SECONDS, SendWindow, TokenBucket, chat_wait
from services.alerts.stats import DeliveryStats
from services.articles import ArticleView
from storage.alerts import ChatRepository, Claimed, OutboxRepository
from storage.chat_sends import ChatSendRepository
from storage.db import OutageLog

log = logging.getLogger(__name__)

STATS_EVERY_SECONDS = 60.0
RECOVER_EVERY_SECONDS = 30.0


class AlertSender(Protocol):
    """Sends one alert (or one digest of several articles) to a chat; never raises."""

    async def send(
        self, chat_id: int, topic: int, articles: Sequence[ArticleView], digest: str
    ) -> SendResult: ...


@dataclass(frozen=True, slots=True)
class Marked:
    """A group of jobs recorded "sending": ``at`` is their messages' moment in the chats'
    shared record (until their answers move it); ``held``, the first row ids of those that
    went back to the queue instead."""

    at: datetime
    held: set[int]


def _after(now: datetime, seconds: float) -> Callable[[str], datetime]:
    """``hold_back``'s "until": the same moment for a chat of any kind."""
    moment = now + timedelta(seconds=seconds)
    return lambda _kind: moment


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
        self._idle_seconds = idle_seconds
        self._monotonic = monotonic
        self.stats = stats or DeliveryStats(max_in_flight)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._group_size = group_size
        self._outcomes = OutcomeRecorder(
            session_factory, clock=clock, rate=rate, max_attempts=max_attempts
        )
        self._busy: set[int] = set()  # chats with a send of ours in flight
        # The worker's, not one run's: a run may end in an outage (its process lost the
        # leader lock with the database) and the next one must still say it is over.
        self._outage = OutageLog(log, "alert delivery")
        self._tasks: set[asyncio.Task[int]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set; the messages in flight are always finished first."""
        next_stats = self._monotonic() + STATS_EVERY_SECONDS
        next_recovery = self._monotonic() + RECOVER_EVERY_SECONDS
        prefetched: asyncio.Task[list[Job]] | None = None
        outage = self._outage
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

    @property
    def sent_commits(self) -> tuple[int, int]:
        """Sent alerts recorded so far, and the commits that took them (shared ones)."""
        return self._outcomes.sent_commits

    def _commits(self) -> str:
        recorded, commits = self.sent_commits
        return f"{recorded} sent recorded in {commits} commits"

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
            outbox, sends = OutboxRepository(session), ChatSendRepository(session)
            chat_ids = set(await outbox.recover_sending(now, expired_only=expired_only))
            # Their last message may have arrived, at a moment not known but before now.
            await sends.move_latest(chat_ids, now)
            if not expired_only:
                chat_ids.update(await outbox.release_all_claims())
            await ChatRepository(session).hold_back(chat_ids, lambda kind: now + spacing(kind))
            # No per-chat limit counts further back (the record keeps what went lately).
            await sends.forget(now - timedelta(seconds=2 * CHAT_MEMORY_SECONDS))
        return sorted(chat_ids)

    async def _claim(self, busy: set[int]) -> list[Job]:
        """Lease due alerts of chats not in ``busy`` and make them ready to send."""
        now = self._clock()
        lease_until = now + self._lease
        async with self._sessions.begin() as session:
            claimed = await OutboxRepository(session).claim(
                self._worker_id, now, lease_until, self._batch_size, busy
            )
        if not claimed:
            return []
        # Apart from the claim: on SQLite a transaction that writes holds the one write lock,
        # and every send in flight waits for it to record its outcome.
        async with self._sessions.begin() as session:
            return await prepare(
                session, claimed, now, worker=self._worker_id, lease_until=lease_until
            )

    async def _dispatch(
        self, jobs: list[Job], stop: asyncio.Event | None, *, prefetch: bool
    ) -> tuple[list[asyncio.Task[int]], asyncio.Task[list[Job]] | None]:
        """Start the jobs' sends as slots and pacing allow. With ``prefetch``, the next batch
        is claimed while the second half of a full one goes out, so claiming never stalls
        the sends (at 29 a second a pause of 100 ms costs about one message a second).

        The first send of each group of ``group_size`` starts the group's "sending" record;
        every send of the group waits for that record before its request (the dispatcher
        does not: it goes on pacing the next ones meanwhile)."""
        started: list[asyncio.Task[int]] = []
        prefetched: asyncio.Task[list[Job]] | None = None
        full = len(jobs) >= self._batch_size // 2
        marking: asyncio.Task[Marked] | None = None  # the current group's "sending" record
        group_end = 0
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
                try:
                    await self._rate.acquire()
                except BaseException:
                    self._busy.discard(chat_id)
                    self._slots.release()
                    raise
                if position == group_end:
                    group_end = min(len(jobs), position + self._group_size)
                    group = jobs[position:group_end]
                    marking = asyncio.create_task(self._mark(group), name="alerts sending")
                assert marking is not None
                task = asyncio.create_task(self._deliver(job, marking), name=f"alert to {chat_id}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                started.append(task)
            else:
                position = len(jobs)
        except Exception:
            with contextlib.suppress(Exception):
                await self._put_back(jobs[position:], marking)
            raise
        await self._put_back(jobs[position:], marking)
        return started, prefetched

    async def _mark(self, jobs: Sequence[Job]) -> Marked:
        """Record these jobs "sending", and their messages in the chats' shared record, in one
        transaction; except those whose chat has no room now for what went to it lately
        (replies from any process, the alerts of a sender that died mid-request): they go
        back to the queue and their chat is held back until there is."""
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
                await outbox.defer(job.ids, None, None, count_attempt=False)
                await ChatRepository(session).hold_back([chat_id], _after(now, wait))
                log.debug("alert to chat %s held back %.2f s by its per-chat limits", chat_id, wait)
            if going:
                await outbox.mark_sending(
                    [i for job in going for i in job.ids], self._worker_id, now + self._lease
                )
                await sends.record_many([job.rows[0].chat_id for job in going], now)
        return Marked(now, held)

    async def _put_back(self, jobs: Sequence[Job], marking: asyncio.Task[Marked] | None) -> None:
        """Jobs not started (stopped, or the database failed): due again, not "sending"."""
        if marking is not None:  # it may cover some of them: finished first, then undone
            with contextlib.suppress(Exception):
                await marking
        if jobs:
            await self._release([row for job in jobs for row in job.rows])

    async def _pace(self) -> float:
        """Wait for the overall rate, then for room in the window (``_admit``)."""
        await self._rate.acquire()
        return await self._admit()

    async def _admit(self) -> float:
        """Wait for room in the send window; returns the moment the send starts.

        Right before the request, after its "sending" commit: the window counts a send from
        here until its answer, and counted from before the commit, the commit's time (longer
        while a claim holds SQLite's write lock) kept the window's room taken too (10-s
        windows at 100 ms went from 28.2 to 28.9 sends a second with this move)."""
        if self._window is not None:
            return await self._window.start()
        return self._monotonic()

    async def _release(self, rows: Sequence[Claimed]) -> None:
        async with self._sessions.begin() as session:
            await OutboxRepository(session).defer(
                [r.id for r in rows], None, None, count_attempt=False
            )

    async def _deliver(self, job: Job, marking: asyncio.Task[Marked]) -> int:
        """Send one job once its group is recorded "sending" (``marking``), and record what
        became of it; never raises, always frees its slot."""
        first = job.rows[0]
        chat_id, topic = first.chat_id, first.topic
        result: SendResult | None = None
        marked_at: datetime | None = None
        try:
            # Shielded: the group's record is shared, and one send's end must not undo it.
            marked = await asyncio.shield(marking)
            if first.id in marked.held:
                return 0  # back in the queue; its chat waits a little
            marked_at = marked.at
            began = await self._admit()
            result, chat_id, topic = await self._request(job, began)
            if result.outcome is Outcome.SENT and topic == first.topic:
                await self._outcomes.sent(job, chat_id, marked_at)
                return 1
            return await self._outcomes.record(job, result, chat_id, topic, marked_at)
        except Exception as error:
            if result is None:
                # Not one of the outcomes a sender reports: a failed attempt like a network
                # error, retried with backoff until attempts run out. (The Telegram sender
                # itself reports a send that may have arrived as MAYBE_SENT.)
                result = SendResult(Outcome.TRANSIENT, detail=f"{type(error).__name__}: {error}")
            await self._outcomes.failure(job, result, chat_id, topic, error, marked_at)
            return 0
        finally:
            self._busy.discard(first.chat_id)
            self._busy.discard(chat_id)
            self._slots.release()

    async def _request(self, job: Job, began: float) -> tuple[SendResult, int, int]:
        first = job.rows[0]
        chat_id, topic = first.chat_id, first.topic
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
                    self._window.finish(began, asked)  # the round trip from ``asked``
            if result.outcome is Outcome.MIGRATED and result.new_chat_id is not None:
                await self._migrate(chat_id, result.new_chat_id)
                chat_id = result.new_chat_id
                self._busy.add(chat_id)
                continue
            if result.outcome is Outcome.TOPIC_GONE and topic != 0:
                topic = 0
                continue
            break
        return result, chat_id, topic

    async def _migrate(self, old_id: int, new_id: int) -> None:
        async with self._sessions.begin() as session:
            await ChatRepository(session).migrate(old_id, new_id, self._clock())
