"""The language each chat chose with /language, and what the handlers need to speak it.

The service stores a language code and hands it back; which codes exist and how they are
spoken is the handlers' business (handlers/i18n.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.grouped import GroupCommit
from services.alerts.subscriptions import ChatRef
from storage.alerts import ChatRepository

# A chat that never chose a /timezone (and the context outside any update) is in UTC.
DEFAULT_TIMEZONE = "UTC"


@dataclass(frozen=True, slots=True)
class ChatLocale:
    language: str | None  # chosen with /language; None: never chosen
    timezone: str  # the chat's /timezone (UTC until set)
    user_language: str | None = None  # a private chat's user's language, as last seen
    known: bool = False  # the chat has a row (it subscribed, or chose a language)

    @property
    def spoken(self) -> str | None:
        """What the chat speaks when no update says otherwise (alerts): chosen, else seen."""
        return self.language or self.user_language


class LanguageService:
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], *, clock: Callable[[], datetime]
    ) -> None:
        self._sessions = session_factory
        self._clock = clock

    async def chat_locale(self, chat_id: int) -> ChatLocale:
        """The chat's chosen language and its time zone (one primary-key read)."""
        async with self._sessions() as session:
            chat = await ChatRepository(session).get(chat_id)
        if chat is None:
            return ChatLocale(None, DEFAULT_TIMEZONE)
        return ChatLocale(chat.language, chat.timezone, chat.user_language, known=True)

    async def chat_locales(self, chat_ids: Iterable[int]) -> dict[int, ChatLocale]:
        """``chat_locale`` of each of these chats, in one read."""
        wanted = set(chat_ids)
        async with self._sessions() as session:
            chats = await ChatRepository(session).languages(wanted)
        unknown = ChatLocale(None, DEFAULT_TIMEZONE)
        return {
            chat_id: unknown
            if (chat := chats.get(chat_id)) is None
            else ChatLocale(*chat, known=True)
            for chat_id in wanted
        }

    async def remember_user_language(self, chat_id: int, code: str) -> None:
        """Note a private chat's user's language, for alerts; only chats with a row."""
        async with self._sessions.begin() as session:
            chat = await ChatRepository(session).get(chat_id)
            if chat is not None:
                chat.user_language = code

    async def set_language(self, chat: ChatRef, code: str) -> ChatLocale:
        """Store the chat's language (the chat's row is made on first use)."""
        async with self._sessions.begin() as session:
            row = await ChatRepository(session).ensure(
                chat.id, chat.kind, chat.title, self._clock()
            )
            row.language = code
            return ChatLocale(row.language, row.timezone, row.user_language, known=True)


@dataclass(slots=True)
class _Lookup:
    chat_id: int
    locale: ChatLocale | None = None


class SharedLocaleReads:
    """``chat_locale`` for the alert sender: the lookups asked for while one read is under
    way are all answered by the next, in one query. At paid-broadcast rates a read of its own
    for each alert (a session, a query, a rollback) was the sender's largest cost."""

    def __init__(self, languages: LanguageService) -> None:
        self._languages = languages
        self._reads: GroupCommit[_Lookup] = GroupCommit(self._read)

    async def chat_locale(self, chat_id: int) -> ChatLocale:
        """The chat's locale, read now (with whatever other chats are asked for meanwhile)."""
        lookup = _Lookup(chat_id)
        await self._reads.add(lookup)
        assert lookup.locale is not None  # set by _read, or add raised
        return lookup.locale

    async def _read(self, lookups: Sequence[_Lookup]) -> None:
        found = await self._languages.chat_locales(lookup.chat_id for lookup in lookups)
        for lookup in lookups:
            lookup.locale = found[lookup.chat_id]
