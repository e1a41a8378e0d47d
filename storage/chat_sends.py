"""The shared record of messages sent to each chat lately (see models.ChatSend)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, delete, exists, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.chunks import id_chunks
from storage.models import Chat, ChatSend

# The Core table: the alert sender reads and writes it for every group of sends, and a Core
# statement skips the ORM's compile and result layers.
CHAT_SENDS = cast(Table, ChatSend.__table__)
# Read for every group of sends: built once (building it cost a third of running it).
_SINCE = (
    select(CHAT_SENDS.c.chat_id, CHAT_SENDS.c.sent_at)
    .where(CHAT_SENDS.c.chat_id.in_(bindparam("ids", expanding=True)))
    .where(CHAT_SENDS.c.sent_at > bindparam("moment", type_=CHAT_SENDS.c.sent_at.type))
    .order_by(CHAT_SENDS.c.sent_at)
)


# Answers move their messages' moments here, one statement per group of sends.
_MOVE = (
    update(CHAT_SENDS)
    .where(CHAT_SENDS.c.chat_id.in_(bindparam("ids", expanding=True)))
    .where(CHAT_SENDS.c.sent_at == bindparam("moment", type_=CHAT_SENDS.c.sent_at.type))
    .values(sent_at=bindparam("to", type_=CHAT_SENDS.c.sent_at.type))
)
RECENT_SECONDS = 120.0  # further back than any per-chat limit counts


class ChatSendRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record_many(self, chat_ids: Iterable[int], at: datetime) -> None:
        """A message to each of these chats started now (the alert sender's group of sends)."""
        rows = [{"chat_id": chat_id, "sent_at": at} for chat_id in chat_ids]
        if rows:
            await self._session.execute(insert(CHAT_SENDS), rows)

    async def record_if_known(self, chat_id: int, at: datetime) -> bool:
        """Record a message only for a chat alerts may go to (one with a chats row): the
        rest never meet the alert sender. One statement; False when nothing was recorded."""
        chosen = select(literal(chat_id), literal(at, ChatSend.sent_at.type)).where(
            exists().where(Chat.id == chat_id)
        )
        result = await self._session.execute(
            insert(ChatSend).from_select(["chat_id", "sent_at"], chosen)
        )
        return bool(getattr(result, "rowcount", 0))

    async def since(self, chat_ids: Iterable[int], moment: datetime) -> dict[int, list[datetime]]:
        """Each chat's messages after ``moment``, oldest first (chats with none left out)."""
        found: dict[int, list[datetime]] = {}
        for chunk in id_chunks(chat_ids):
            rows = await self._session.execute(_SINCE, {"ids": chunk, "moment": moment})
            for chat_id, sent_at in rows.all():
                found.setdefault(int(chat_id), []).append(sent_at)
        return found

    async def move(self, chat_id: int, moment: datetime, to: datetime) -> None:
        """The message recorded for this chat at ``moment`` counts from ``to`` instead."""
        await self.move_many([chat_id], moment, to)

    async def move_many(self, chat_ids: Iterable[int], moment: datetime, to: datetime) -> None:
        """``move`` for many chats whose messages were recorded at one moment (a group)."""
        for chunk in id_chunks(chat_ids):
            await self._session.execute(_MOVE, {"ids": chunk, "moment": moment, "to": to})

    async def move_latest(self, chat_ids: Iterable[int], to: datetime) -> None:
        """Each chat's most recent message counts from ``to`` (a dead sender's last request:
        when it arrived, if it did, is not known, but it was before now)."""
        since = to - timedelta(seconds=RECENT_SECONDS)
        for chat_id, stamps in (await self.since(chat_ids, since)).items():
            await self.move(chat_id, stamps[-1], max(to, stamps[-1]))

    async def forget(self, before: datetime) -> int:
        """Drop what no limit counts any more; returns how many went."""
        result = await self._session.execute(delete(ChatSend).where(ChatSend.sent_at < before))
        return int(getattr(result, "rowcount", 0) or 0)
