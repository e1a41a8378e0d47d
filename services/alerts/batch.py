"""Turn claimed outbox rows into messages ready to send: one read for the whole batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.alerts.schedule import DeliveryPrefs, due_time
from services.articles import ArticleView, to_view
from storage.alerts import DROPPED, ChatRepository, Claimed, OutboxRepository
from storage.articles import ArticleRepository

MAX_DIGEST_ITEMS = 30


@dataclass(frozen=True, slots=True)
class Job:
    """One message to one chat: an alert, or a digest of several queued alerts."""

    rows: list[Claimed]
    articles: list[ArticleView]
    digest: str
    kind: str

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows]


async def prepare(
    session: AsyncSession,
    claimed: Sequence[Claimed],
    now: datetime,
    *,
    worker: str,
    lease_until: datetime,
) -> list[Job]:
    """The jobs for these claimed rows (in order); rows that cannot go now are settled here:
    dropped (paused chat, deleted article) or put back (the chat's settings hold them).

    A digest's other alerts are leased here too (as ``worker``'s, until ``lease_until``):
    read unleased, another worker may claim one meanwhile, and it would go in both sends."""
    outbox = OutboxRepository(session)
    chats = await ChatRepository(session).deliveries(row.chat_id for row in claimed)
    batches: list[tuple[list[Claimed], str, str]] = []
    for row in claimed:
        chat = chats.get(row.chat_id)
        if chat is None or not chat.active:
            await outbox.finish([row.id], DROPPED, now, "chat is paused")
            continue
        prefs = DeliveryPrefs(chat.digest, chat.quiet_start, chat.quiet_end, chat.timezone)
        due = due_time(prefs, row.created_at)
        if due > now:  # the chat's settings changed since it was queued
            await outbox.defer([row.id], due, None, count_attempt=False)
            continue
        rows = [row]
        if prefs.digest != "off":
            others = [
                other
                for other in await outbox.pending_for(row.chat_id, row.topic, now, MAX_DIGEST_ITEMS)
                if other.id != row.id and due_time(prefs, other.created_at) <= now
            ][: MAX_DIGEST_ITEMS - 1]
            leased = set(await outbox.lease([o.id for o in others], worker, now, lease_until))
            rows += [other for other in others if other.id in leased]
        batches.append((rows, prefs.digest, chat.kind))
    wanted = {row.article_id for rows, _, _ in batches for row in rows}
    found = await ArticleRepository(session).get_many(sorted(wanted))
    gone = [row.id for rows, _, _ in batches for row in rows if row.article_id not in found]
    if gone:
        await outbox.finish(gone, DROPPED, now, "article was deleted")
    jobs = []
    for rows, digest, kind in batches:
        kept = [row for row in rows if row.article_id in found]
        if kept:
            articles = [to_view(found[row.article_id]) for row in kept]
            jobs.append(Job(kept, articles, digest, kind))
    return jobs
