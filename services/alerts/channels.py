"""Channels and groups managed from a private chat: who manages them, and losing the right to post.

Whether a user administers a chat, and whether the bot may post there, is Telegram's to say;
the handlers ask it at every change and call this service only when both hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.subscriptions import ChatRef, SubscriptionView, view_of
from services.feeds.follow import FollowedFeed, followed_view
from storage.alerts import (
    ChatManagerRepository,
    ChatRepository,
    OutboxRepository,
    SubscriptionRepository,
)
from storage.follows import FollowRepository


@dataclass(frozen=True, slots=True)
class ManagedChat:
    id: int
    kind: str
    title: str | None
    username: str | None
    active: bool
    paused_reason: str | None
    subscriptions: tuple[SubscriptionView, ...]
    follows: tuple[FollowedFeed, ...] = ()  # the feeds it follows (/follow)


@dataclass(frozen=True, slots=True)
class PostingChange:
    """The bot lost or regained the right to post in a chat: whom to tell, and about what."""

    chat_id: int
    title: str | None
    connected_by: int
    subscriptions: int


class ChannelService:
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], *, clock: Callable[[], datetime]
    ) -> None:
        self._sessions = session_factory
        self._clock = clock

    async def manage(self, chat: ChatRef, user_id: int, username: str | None = None) -> None:
        """A verified administrator manages the chat, where the bot was just seen able to post.

        The first one is remembered as the person who connected it; a chat paused because the
        bot could not post resumes, since it now can.
        """
        async with self._sessions.begin() as session:
            row = await ChatRepository(session).ensure(
                chat.id, chat.kind, chat.title, self._clock()
            )
            row.title = chat.title or row.title
            row.username = username or row.username
            if row.connected_by is None:
                row.connected_by = user_id
            if not row.active and not (row.paused_reason or "").startswith("migrated"):
                row.active, row.paused_reason = True, None
            await ChatManagerRepository(session).add(chat.id, user_id, self._clock())

    async def managed_by(self, user_id: int) -> list[ManagedChat]:
        """The chats this user manages through the bot, each with its subscriptions."""
        async with self._sessions() as session:
            chats = await ChatManagerRepository(session).chats_of(user_id)
            subscriptions = SubscriptionRepository(session)
            follows = FollowRepository(session)
            return [
                ManagedChat(
                    chat.id,
                    chat.kind,
                    chat.title,
                    chat.username,
                    chat.active,
                    chat.paused_reason,
                    tuple(view_of(row) for row in await subscriptions.for_chat(chat.id)),
                    tuple(followed_view(f, feed) for f, feed in await follows.for_chat(chat.id)),
                )
                for chat in chats
            ]

    async def posting_lost(self, chat_id: int, reason: str) -> PostingChange | None:
        """Pause the chat and drop what was queued; who connected it, if they are to be told.

        None when the chat was already paused (Telegram may repeat itself) or nobody
        connected it from a private chat.
        """
        async with self._sessions.begin() as session:
            chat = await ChatRepository(session).get(chat_id, lock=True)
            if chat is None or not chat.active:
                return None
            chat.active, chat.paused_reason = False, reason
            await OutboxRepository(session).drop_pending(chat_id, reason)
            return await self._change(session, chat_id)

    async def posting_regained(self, chat: ChatRef) -> PostingChange | None:
        """The bot may post again: a paused chat resumes (not one that became a supergroup)."""
        async with self._sessions.begin() as session:
            row = await ChatRepository(session).get(chat.id, lock=True)
            if row is None or row.active or (row.paused_reason or "").startswith("migrated"):
                return None
            row.active, row.paused_reason = True, None
            row.title = chat.title or row.title
            return await self._change(session, chat.id)

    @staticmethod
    async def _change(session: AsyncSession, chat_id: int) -> PostingChange | None:
        chat = await ChatRepository(session).get(chat_id)
        if chat is None or chat.connected_by is None:
            return None
        count = await SubscriptionRepository(session).count_for_chat(chat_id)
        return PostingChange(chat_id, chat.title, chat.connected_by, count)
