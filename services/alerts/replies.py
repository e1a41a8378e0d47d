"""Replies recorded where the alert sender sees them, whichever process sent them.

Webhook replicas answer commands in other processes than the one sending alerts; Telegram
counts a chat's replies and alerts together (one a second, twenty a minute to a group). So
each reply to a chat alerts may go to is written to the chats' shared record of recent
messages, and the sender keeps each chat's limits with them (see DeliveryWorker).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.chat_sends import ChatSendRepository


class ReplyLog:
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], *, clock: Callable[[], datetime]
    ) -> None:
        self._sessions = session_factory
        self._clock = clock

    def record(self, chat_id: int) -> Coroutine[Any, Any, bool]:
        """A reply to this chat is leaving now (the moment is taken at once, the write is
        what is awaited); False if the chat gets no alerts (nothing was recorded then: its
        replies never meet an alert)."""
        return self._write(chat_id, self._clock())

    async def _write(self, chat_id: int, at: datetime) -> bool:
        async with self._sessions.begin() as session:
            return await ChatSendRepository(session).record_if_known(chat_id, at)
