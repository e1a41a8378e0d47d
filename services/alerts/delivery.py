"""The sending loop: outbox rows out to Telegram within its flood limits, none lost."""

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

from services.alerts.ratelimit import SendWindow, TokenBucket
from services.alerts.schedule import due_time
from services.alerts.subscriptions import prefs_of
from services.articles import ArticleView, to_view
from storage.alerts import (
    DROPPED,
    FAILED,
    SENT,
    ChatRepository,
    Claimed,
    OutboxRepository,
    SubscriptionRepository,
)
from storage.articles import ArticleRepository
from storage.db import OutageLog

log = logging.getLogger(__name__)

# Telegram: about one message a second to a chat, twenty a minute to a group.
PRIVATE_SPACING = timedelta(seconds=1)
GROUP_SPACING = timedelta(seconds=3)
MAX_DIGEST_ITEMS = 30


class Outcome(Enum):
    SENT = "sent"
    RETRY_AFTER = "retry_after"  # flood control: wait exactly as long as asked
    CHAT_GONE = "chat_gone"  # bot blocked, removed, or the chat no longer exists
    MIGRATED = "migrated"  # the group became a supergroup with a new id
    TOPIC_GONE = "topic_gone"  # the forum topic was deleted or closed
    TRANSIENT = "transient"  # network trouble: try again later
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
        lease: timedelta = timedelta(seconds=30),
        batch_size: int = 30,
        max_attempts: int = 8,
        idle_seconds: float = 0.25,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
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

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set; the message in flight is always finished first."""
        outage = OutageLog(log, "alert delivery")
        while not stop.is_set():
            try:
                sent = await self.deliver_once(stop)
                outage.succeeded()
            except Exception as error:
                if not outage.failed(error):
                    log.exception("alert delivery failed; retrying shortly")
                sent = 0
            if sent == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._idle_seconds)

    async def deliver_once(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch of due alerts (one per chat) and send them; return how many went."""
        now = self._clock()
        async with self._sessions.begin() as session:
            claimed = await OutboxRepository(session).claim(
                self._worker_id, now, now + self._lease, self._batch_size
            )
        sent = 0
        for position, row in enumerate(claimed):
            if stop is not None and stop.is_set():
                await self._release(claimed[position:])
                break
            sent += await self._deliver(row)
        return sent

    async def release_stale_claims(self) -> int:
        """Free the claims a dead sender left behind; call only while no one else sends.

        The dead sender may have sent its message in flight without recording it, so each
        chat it held waits out its spacing again before anything else goes to it: a repeat
        (at most that one message) is allowed, tripping Telegram's per-chat limit is not.
        """
        now = self._clock()
        async with self._sessions.begin() as session:
            chat_ids = await OutboxRepository(session).release_all_claims()
            await ChatRepository(session).hold_back(chat_ids, lambda kind: now + spacing(kind))
        return len(chat_ids)

    async def _release(self, rows: Sequence[Claimed]) -> None:
        async with self._sessions.begin() as session:
            await OutboxRepository(session).defer(
                [r.id for r in rows], self._clock(), None, count_attempt=False
            )

    async def _deliver(self, row: Claimed) -> int:
        now = self._clock()
        async with self._sessions.begin() as session:
            chat = await ChatRepository(session).get(row.chat_id)
            outbox = OutboxRepository(session)
            if chat is None or not chat.active:
                await outbox.finish([row.id], DROPPED, now, "chat is paused")
                return 0
            prefs = prefs_of(chat)
            due = due_time(prefs, row.created_at)
            if due > now:  # the chat's settings changed since it was queued
                await outbox.defer([row.id], due, None, count_attempt=False)
                return 0
            batch = [row]
            if prefs.digest != "off":
                batch += [
                    other
                    for other in await outbox.pending_for(
                        row.chat_id, row.topic, now, MAX_DIGEST_ITEMS
                    )
                    if other.id != row.id and due_time(prefs, other.created_at) <= now
                ][: MAX_DIGEST_ITEMS - 1]
            found = await ArticleRepository(session).get_many([r.article_id for r in batch])
            gone = [r.id for r in batch if r.article_id not in found]
            if gone:
                await outbox.finish(gone, DROPPED, now, "article was deleted")
            batch = [r for r in batch if r.article_id in found]
            articles = [to_view(found[r.article_id]) for r in batch]
            kind = chat.kind
        if not batch:
            return 0
        return await self._send(batch, articles, prefs.digest, kind)

    async def _send(
        self, batch: list[Claimed], articles: list[ArticleView], digest: str, kind: str
    ) -> int:
        first = batch[0]
        chat_id, topic = first.chat_id, first.topic
        for _ in range(3):  # a migration or a vanished topic re-sends at once
            await self._rate.acquire()
            if self._window is not None:
                await self._window.start()
            try:
                result = await self._sender.send(chat_id, topic, articles, digest)
            finally:
                if self._window is not None:
                    self._window.finish()
            if result.outcome is Outcome.MIGRATED and result.new_chat_id is not None:
                await self._migrate(chat_id, result.new_chat_id)
                chat_id, kind = result.new_chat_id, "supergroup"
                continue
            if result.outcome is Outcome.TOPIC_GONE and topic != 0:
                topic = 0
                continue
            break
        ids = [r.id for r in batch]
        now = self._clock()
        async with self._sessions.begin() as session:
            outbox = OutboxRepository(session)
            chats = ChatRepository(session)
            if topic != first.topic:  # the topic is gone: its subscriptions post to General
                await SubscriptionRepository(session).move_topic(chat_id, first.topic, topic)
            if result.outcome is Outcome.SENT:
                await outbox.finish(ids, SENT, now)
                await chats.set_next_send(chat_id, now + spacing(kind))
                return 1
            if result.outcome is Outcome.RETRY_AFTER:
                self._rate.pause(result.retry_after)
                await outbox.defer(
                    ids,
                    now + timedelta(seconds=result.retry_after),
                    result.detail,
                    count_attempt=False,
                )
            elif result.outcome is Outcome.CHAT_GONE:
                await chats.set_active(chat_id, False, result.detail[:256])
                await outbox.drop_pending(chat_id, result.detail)
            elif result.outcome is Outcome.TRANSIENT and first.attempts + 1 < self._max_attempts:
                await outbox.defer(
                    ids, now + retry_delay(first.attempts), result.detail, count_attempt=True
                )
            else:
                log.warning("alert to chat %s failed for good: %s", chat_id, result.detail)
                await outbox.finish(ids, FAILED, now, result.detail)
        return 0

    async def _migrate(self, old_id: int, new_id: int) -> None:
        async with self._sessions.begin() as session:
            await ChatRepository(session).migrate(old_id, new_id, self._clock())
