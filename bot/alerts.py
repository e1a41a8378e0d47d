"""The alert machinery of a process: leader election, matching, delivery.

Every process may run it; only the one holding the leader lock works, so the flood limits
of the bot hold however many processes run. A standby takes over within seconds when the
leader dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.runtime import Runtime
from bot.settings import Settings
from services.alerts.delivery import AlertSender, DeliveryWorker
from services.alerts.languages import warm_up as warm_up_languages
from services.alerts.matcher import AlertMatcher
from services.alerts.ratelimit import (
    SEND_BURST,
    TELEGRAM_MESSAGES_PER_SECOND,
    SendWindow,
    TokenBucket,
)
from services.alerts.stats import DeliveryStats
from storage.db import OutageLog
from storage.leader import LeaderLock

log = logging.getLogger(__name__)

MATCH_EVERY_SECONDS = 0.5
LEADER_RETRY_SECONDS = 3.0
MAX_BATCH = 500  # alerts claimed at once, at most
# Sends recorded "sending" in one transaction: those of the next 25 ms (one at Telegram's
# 30/s, 25 at a paid 1000/s). A crash may leave the rest of a group unsent but "sending";
# those go after the restart (they never went, so this is no repeat).
GROUP_SECONDS = 0.025


class AlertLoop:
    def __init__(
        self,
        runtime: Runtime,
        sender: AlertSender,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._runtime = runtime
        self._leader = LeaderLock(runtime.engine)
        self._clock = clock
        self._matcher = AlertMatcher(runtime.sessions, clock=clock)
        rate = settings.alert_rate_per_second
        # Paid broadcasts lift the overall ceiling; the window then guards the chosen rate.
        ceiling = max(TELEGRAM_MESSAGES_PER_SECOND, math.ceil(rate))
        self._worker = DeliveryWorker(
            runtime.sessions,
            sender,
            clock=clock,
            worker_id=f"{socket.gethostname()}:{os.getpid()}",
            # At paid-broadcast rates a tenth of a second of tokens may be saved up (the window
            # still holds every second to the ceiling); at Telegram's 30/s, half a token of
            # slack, so the bucket alone keeps any second to 30 (2.9 saved-up tokens at 29/s
            # let a second after a pause, or after a restart, start 31).
            rate=TokenBucket(
                rate,
                burst=SEND_BURST if rate <= TELEGRAM_MESSAGES_PER_SECOND else rate / 10,
            ),
            window=SendWindow(
                ceiling if settings.alert_paid_broadcast else TELEGRAM_MESSAGES_PER_SECOND
            ),
            max_in_flight=settings.alert_max_in_flight,
            group_size=max(1, math.floor(rate * GROUP_SECONDS)),
            # A third of a second of sends per claim: claiming keeps up at any rate, and a
            # chat owed many alerts is claimed again soon after its second is up (with a
            # second's worth per claim it waited for the claim after next: one alert every
            # two seconds).
            batch_size=max(10, min(MAX_BATCH, math.ceil(rate / 3))),
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Outlives one term as leader: an outage that ends a term is over in the next one.
        self._match_outage = OutageLog(log, "matching new articles")

    @property
    def stats(self) -> DeliveryStats:
        """The sender's in-flight count, outcomes and Bot API latency histogram, live."""
        return self._worker.stats

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="alerts")

    async def stop(self) -> None:
        """Stop after the message in flight (if any) is sent and recorded."""
        self._stop.set()
        if self._task is not None:
            await self._task
        await self._leader.release()

    async def _run(self) -> None:
        outage = OutageLog(log, "leader election")
        while not self._stop.is_set():
            try:
                leading = await self._leader.try_acquire()
            except Exception as error:  # the loop must outlive a database restart
                if not outage.failed(error):
                    log.exception("asking for the leader lock failed; retrying")
                leading = False
            else:
                outage.succeeded()
            if leading:
                log.info("this process now matches and delivers alerts")
                await self._lead()
                # Leadership ends when the lock's connection is lost (a database restart):
                # ask again at once, so alerts pause no longer than the database does.
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), LEADER_RETRY_SECONDS)

    async def _lead(self) -> None:
        # Whoever led before is gone (the lock is ours), so every claim left is stale.
        released = await self._worker.release_stale_claims()
        if released:
            log.info("released alerts a previous sender had claimed, for %d chats", released)
        lost = asyncio.Event()
        jobs = [
            asyncio.create_task(self._match_forever(lost)),
            asyncio.create_task(self._worker.run(lost)),
        ]
        watcher = asyncio.create_task(self._watch_leadership(lost))
        await lost.wait()
        await asyncio.gather(*jobs, return_exceptions=True)
        watcher.cancel()

    async def _watch_leadership(self, lost: asyncio.Event) -> None:
        while not lost.is_set():
            if self._stop.is_set() or not await self._leader.try_acquire():
                lost.set()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), LEADER_RETRY_SECONDS)

    async def _match_forever(self, lost: asyncio.Event) -> None:
        outage = self._match_outage
        # Off the event loop: replies must not wait a second and a half for the models.
        if not await _warmed_up(lost):
            return  # stopping (or no longer leading) before the models were loaded
        while not lost.is_set():
            try:
                queued = await self._matcher.run_once()
                outage.succeeded()
            except Exception as error:
                if not outage.failed(error):
                    log.exception("matching new articles failed; retrying")
                queued = 0
            if queued == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), MATCH_EVERY_SECONDS)


async def _warmed_up(lost: asyncio.Event) -> bool:
    """Load the language models in a thread; False when ``lost`` is set first.

    A daemon thread, not asyncio.to_thread: a worker stopped in its first seconds must not
    wait out the loading (several seconds on a busy machine, against a 10 s exit), and
    asyncio.run joins its executor's threads before the process may exit.
    """
    loop = asyncio.get_running_loop()
    loaded: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if loaded.done():
            return
        if error is None:
            loaded.set_result(None)
        else:
            loaded.set_exception(error)

    def load() -> None:
        error: BaseException | None = None
        try:
            warm_up_languages()
        except BaseException as failure:  # handed to the matcher, as to_thread would
            error = failure
        with contextlib.suppress(RuntimeError):  # the loop is closed: the process is ending
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=load, name="warm-up-languages", daemon=True).start()
    ending = asyncio.ensure_future(lost.wait())
    try:
        either: list[asyncio.Future[Any]] = [loaded, ending]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ending.cancel()
    if loaded.done():
        loaded.result()  # raises what the loading raised
        return True
    return False
