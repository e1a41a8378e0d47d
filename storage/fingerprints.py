"""A cheap fingerprint of what chats subscribe to or follow, for caches that must notice
every change to it (the alert matcher's)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Chat, FeedFollow, Subscription

_CHECKSUM_MODULUS = 1_000_003  # a prime: the terms stay small numbers

Version = tuple[int, int, int, int]


async def active_version(
    session: AsyncSession, model: type[Subscription] | type[FeedFollow]
) -> Version:
    """Changes whenever the rows of ``model`` that alert change: added or removed, moved to
    another chat or topic (migration, deleted topic), or their chat paused or resumed.

    A count and a checksum over the rows of active chats, besides the overall count and
    newest id: a stale view of them loses alerts (a resumed or migrated chat) or queues them
    for a chat that cannot receive them.
    """
    everything = await session.execute(select(func.count(), func.max(model.id)))
    count, newest = everything.one()
    # Small terms keep the sum far from 64-bit overflow even for millions of rows.
    term = (
        (model.id % _CHECKSUM_MODULUS) * 3
        + (model.chat_id % _CHECKSUM_MODULUS) * 5
        + (model.topic % _CHECKSUM_MODULUS) * 7
    )
    active = await session.execute(
        select(func.count(), func.coalesce(func.sum(term), 0))
        .select_from(model)
        .join(Chat, Chat.id == model.chat_id)
        .where(Chat.active)
    )
    active_count, checksum = active.one()
    return int(count), int(newest or 0), int(active_count), int(checksum)
