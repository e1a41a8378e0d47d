"""Subscriptions and per-chat alert preferences, and what happens when a chat changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.alerts.keywords import Vocabulary, parse_keywords, understand
from services.alerts.schedule import DIGEST_MODES, DeliveryPrefs, due_time
from storage.alerts import ChatRepository, OutboxRepository, SubscriptionRepository
from storage.models import Chat, Subscription
from storage.text import tokens

MAX_SUBSCRIPTIONS_PER_CHAT = 50
# Why a subscription was refused (SubscribeResult.refusal); the handlers word it.
NO_SOURCE_NAME = "no_source_name"  # "source:" with no name after it
NO_LETTERS = "no_letters"  # keywords without a letter or digit
TOO_MANY = "too_many"  # the chat has MAX_SUBSCRIPTIONS_PER_CHAT already


@dataclass(frozen=True, slots=True)
class ChatRef:
    id: int
    kind: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    id: int
    topic: int
    query: str
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    source: tuple[str, ...] = ()  # words the article's source must have; () = any


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    subscription: SubscriptionView | None
    corrections: tuple[tuple[str, str], ...] = ()  # (typed, understood)
    refusal: str | None = None  # NO_SOURCE_NAME, NO_LETTERS or TOO_MANY


@dataclass(frozen=True, slots=True)
class ChatSettings:
    prefs: DeliveryPrefs
    active: bool


def view_of(row: Subscription) -> SubscriptionView:
    return SubscriptionView(
        row.id,
        row.topic,
        row.query,
        tuple(row.include_terms.split()),
        tuple(row.exclude_terms.split()),
        tuple(row.source_terms.split()),
    )


def split_source(text: str) -> tuple[str, tuple[str, ...] | None]:
    """``source:bbc iran`` -> ("iran", ("bbc",)); None when no source is named.

    The source's words are folded as search folds them, so ``source:`` means the same in
    /search and /subscribe. Several ``source:`` parts: the article's source must have
    all their words.
    """
    words: list[str] = []
    source: list[str] | None = None
    for part in text.split():
        name, colon, value = part.partition(":")
        if colon and name.lower() == "source":
            source = source or []
            source += [word for word in tokens(value) if word not in source]
        else:
            words.append(part)
    return " ".join(words), None if source is None else tuple(source)


def prefs_of(chat: Chat | None) -> DeliveryPrefs:
    if chat is None:
        return DeliveryPrefs()
    return DeliveryPrefs(chat.digest, chat.quiet_start, chat.quiet_end, chat.timezone)


class SubscriptionService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        vocabulary: Vocabulary,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = session_factory
        self._vocabulary = vocabulary
        self._clock = clock

    async def subscribe(
        self, chat: ChatRef, topic: int, text: str, user_id: int | None
    ) -> SubscribeResult:
        """Add a subscription: every article, or those with any of the words (minus -words),
        from any source or, given ``source:NAME``, from that one."""
        words, source = split_source(text)
        if source is not None and not source:
            return SubscribeResult(None, refusal=NO_SOURCE_NAME)
        source_terms = " ".join(source or ())
        keywords = parse_keywords(words)
        if words.strip() and not (keywords.include or keywords.exclude):
            return SubscribeResult(None, refusal=NO_LETTERS)
        understood = understand(keywords, self._vocabulary)
        include, exclude = understood.include, understood.exclude
        async with self._sessions.begin() as session:
            await ChatRepository(session).ensure(chat.id, chat.kind, chat.title, self._clock())
            repo = SubscriptionRepository(session)
            existing = await repo.for_chat(chat.id)
            if len(existing) >= MAX_SUBSCRIPTIONS_PER_CHAT:
                return SubscribeResult(None, refusal=TOO_MANY)
            for row in existing:
                if (row.topic, row.include_terms, row.exclude_terms, row.source_terms) == (
                    topic,
                    " ".join(include),
                    " ".join(exclude),
                    source_terms,
                ):
                    return SubscribeResult(view_of(row), understood.corrections)
            row = await repo.add(
                Subscription(
                    chat_id=chat.id,
                    topic=topic,
                    query=" ".join(text.split())[:500],
                    include_terms=" ".join(include),
                    exclude_terms=" ".join(exclude),
                    source_terms=source_terms,
                    created_by=user_id,
                    created_at=self._clock(),
                )
            )
            return SubscribeResult(view_of(row), understood.corrections)

    async def list_for_chat(self, chat_id: int) -> list[SubscriptionView]:
        async with self._sessions() as session:
            return [view_of(row) for row in await SubscriptionRepository(session).for_chat(chat_id)]

    async def unsubscribe(self, chat_id: int, subscription_id: int | None) -> int:
        """Remove one of the chat's subscriptions, or all of them (None)."""
        async with self._sessions.begin() as session:
            return await SubscriptionRepository(session).remove(chat_id, subscription_id)

    async def settings(self, chat_id: int) -> ChatSettings:
        async with self._sessions() as session:
            chat = await ChatRepository(session).get(chat_id)
        return ChatSettings(prefs_of(chat), chat.active if chat else True)

    async def set_digest(self, chat: ChatRef, mode: str) -> ChatSettings:
        """Collect a chat's alerts into one message per hour or day ("off": one per article)."""
        if mode not in DIGEST_MODES:
            raise ValueError(f"unknown digest mode {mode!r}")
        return await self._change(chat, lambda row: setattr(row, "digest", mode))

    async def set_quiet_hours(self, chat: ChatRef, window: tuple[int, int] | None) -> ChatSettings:
        """Hold alerts between two local times (minutes after midnight); None lifts it."""
        start, end = window if window is not None else (None, None)

        def apply(row: Chat) -> None:
            row.quiet_start, row.quiet_end = start, end

        return await self._change(chat, apply)

    async def set_timezone(self, chat: ChatRef, zone: str) -> ChatSettings:
        return await self._change(chat, lambda row: setattr(row, "timezone", zone))

    async def _change(self, chat: ChatRef, apply: Callable[[Chat], None]) -> ChatSettings:
        async with self._sessions.begin() as session:
            row = await ChatRepository(session).ensure(
                chat.id, chat.kind, chat.title, self._clock()
            )
            apply(row)
            prefs = prefs_of(row)
            # Held alerts follow the new settings: "/digest off" releases them now.
            await OutboxRepository(session).reschedule(
                chat.id, lambda queued: due_time(prefs, queued)
            )
            return ChatSettings(prefs, row.active)

    async def chat_left(self, chat_id: int, reason: str) -> None:
        """The bot was removed or blocked: pause the chat and drop what was queued for it."""
        async with self._sessions.begin() as session:
            if await ChatRepository(session).set_active(chat_id, False, reason):
                await OutboxRepository(session).drop_pending(chat_id, reason)

    async def chat_joined(self, chat: ChatRef) -> None:
        """The bot is back in the chat: its subscriptions resume."""
        async with self._sessions.begin() as session:
            repo = ChatRepository(session)
            if await repo.get(chat.id) is not None:
                await repo.set_active(chat.id, True, None)

    async def chat_migrated(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: everything moves to the new id."""
        async with self._sessions.begin() as session:
            await ChatRepository(session).migrate(old_id, new_id, self._clock())
