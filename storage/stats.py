"""Figures about the shared database that monitoring reads: the alert outbox and the event log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ArticleEvent, OutboxMessage

OUTBOX_STATES = ("pending", "sent", "failed", "dropped")


@dataclass(frozen=True, slots=True)
class OutboxStats:
    by_state: dict[str, int]  # every state in OUTBOX_STATES, 0 when none
    backlog: int  # pending alerts already due: what the sender has yet to get through
    retries: int  # failed attempts recorded on alerts (each one was retried or given up)


async def outbox_stats(session: AsyncSession, now: datetime) -> OutboxStats:
    """Counts over the whole outbox in one query."""
    due = case(
        ((OutboxMessage.status == "pending") & (OutboxMessage.due_at <= now), 1),
        else_=0,
    )
    result = await session.execute(
        select(
            OutboxMessage.status,
            func.count(),
            func.coalesce(func.sum(due), 0),
            func.coalesce(func.sum(OutboxMessage.attempts), 0),
        ).group_by(OutboxMessage.status)
    )
    by_state = dict.fromkeys(OUTBOX_STATES, 0)
    backlog = retries = 0
    for status, count, due_now, attempts in result.all():
        by_state[str(status)] = int(count)
        backlog += int(due_now)
        retries += int(attempts)
    return OutboxStats(by_state, backlog, retries)


async def last_event_seq(session: AsyncSession) -> int:
    """The newest article event: where every search index is heading."""
    result = await session.execute(select(func.max(ArticleEvent.seq)))
    return int(result.scalar_one() or 0)
