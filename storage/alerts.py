"""Repositories for chats, subscriptions, the alert outbox and event cursors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.chunks import id_chunks
from storage.fingerprints import Version, active_version
from storage.follows import FollowRepository
from storage.models import Chat, ChatManager, Cursor, OutboxMessage, Subscription

PENDING, SENDING, SENT, FAILED, DROPPED = "pending", "sending", "sent", "failed", "dropped"
# Sent twice without an answer saying whether it arrived: not sent a third time.
UNCONFIRMED = "unconfirmed"
# The Core tables, for the alert sender's statements (several for every group of sends at
# paid-broadcast rates): a Core statement skips the ORM's compile and result layers, which
# were most of the SQLAlchemy CPU there (py-spy on the worker, paid bench).
OUTBOX = cast(Table, OutboxMessage.__table__)
CHATS = cast(Table, Chat.__table__)


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row a worker has leased for sending."""

    id: int
    chat_id: int
    topic: int
    article_id: int
    attempts: int
    created_at: datetime
    unsure: int = 0  # earlier sends that may have arrived


# Alerts due next that a claim looks at to find its chats, and how many each is owed.
LOOK_AHEAD = 600


@dataclass(frozen=True, slots=True)
class ChatDelivery:
    """What the alert sender reads of a chat to make its jobs (ChatRepository.deliveries)."""

    active: bool
    kind: str
    digest: str
    quiet_start: int | None
    quiet_end: int | None
    timezone: str


def _claimed(row: OutboxMessage) -> Claimed:
    return Claimed(
        row.id, row.chat_id, row.topic, row.article_id, row.attempts, row.created_at, row.unsure
    )


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _unleased(now: datetime) -> ColumnElement[bool]:
    """No worker holds the alert now: never leased, or its lease ran out."""
    return or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now)


def _claimable(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """An alert a worker may lease now: pending, due and not leased."""
    return (OUTBOX.c.status == PENDING, OUTBOX.c.due_at <= now, _unleased(now))


# The statements the alert sender runs for every group of sends, built once: building one
# (coercions, operators, its cache key) cost a third of running it on SQLite (timeit, 20 ids).
# The ids go in as one expanding parameter.
_MARK_SENDING = (
    update(OUTBOX)
    .where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=SENDING,
        claimed_by=bindparam("worker", type_=OUTBOX.c.claimed_by.type),
        claimed_until=bindparam("until", type_=OUTBOX.c.claimed_until.type),
    )
)
_FINISH = (
    update(OUTBOX)
    .where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=bindparam("status", type_=OUTBOX.c.status.type),
        sent_at=bindparam("sent_at", type_=OUTBOX.c.sent_at.type),
        last_error=bindparam("error", type_=OUTBOX.c.last_error.type),
        claimed_by=None,
        claimed_until=None,
    )
)
_NEXT_SEND = (
    update(CHATS)
    .where(CHATS.c.id.in_(bindparam("ids", expanding=True)))
    .values(next_send_at=bindparam("moment", type_=CHATS.c.next_send_at.type))
)
_DELIVERIES = select(
    CHATS.c.id,
    CHATS.c.active,
    CHATS.c.kind,
    CHATS.c.digest,
    CHATS.c.quiet_start,
    CHATS.c.quiet_end,
    CHATS.c.timezone,
).where(CHATS.c.id.in_(bindparam("ids", expanding=True)))
_LANGUAGES = select(CHATS.c.id, CHATS.c.language, CHATS.c.timezone, CHATS.c.user_language).where(
    CHATS.c.id.in_(bindparam("ids", expanding=True))
)

# A Claimed's fields, in its order.
_CLAIMED_COLUMNS = (
    OUTBOX.c.id,
    OUTBOX.c.chat_id,
    OUTBOX.c.topic,
    OUTBOX.c.article_id,
    OUTBOX.c.attempts,
    OUTBOX.c.created_at,
    OUTBOX.c.unsure,
)


def _insert_ignoring_duplicates(session: AsyncSession, table: Any) -> Any:
    if _dialect(session) == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


class ChatRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, chat_id: int, *, lock: bool = False) -> Chat | None:
        """The chat's row; ``lock``: held until the transaction ends (see ``ensure``)."""
        if not lock:
            return await self._session.get(Chat, chat_id)
        return await self._session.get(Chat, chat_id, populate_existing=True, with_for_update=True)

    async def get_many(self, chat_ids: Iterable[int]) -> dict[int, Chat]:
        """The chats that exist among these ids, read in a few queries, not one per chat."""
        found: dict[int, Chat] = {}
        for chunk in id_chunks(chat_ids):
            result = await self._session.execute(select(Chat).where(Chat.id.in_(chunk)))
            found.update((chat.id, chat) for chat in result.scalars())
        return found

    async def deliveries(self, chat_ids: Iterable[int]) -> dict[int, ChatDelivery]:
        """The delivery settings of the chats that exist among these ids: six columns, no
        Chat objects (the alert sender reads them for every claim, hundreds of chats at
        paid-broadcast rates)."""
        found: dict[int, ChatDelivery] = {}
        for chunk in id_chunks(chat_ids):
            result = await self._session.execute(_DELIVERIES, {"ids": chunk})
            found.update((row[0], ChatDelivery(*row[1:])) for row in result)
        return found

    async def languages(
        self, chat_ids: Iterable[int]
    ) -> dict[int, tuple[str | None, str, str | None]]:
        """(language, timezone, user_language) of the chats that exist among these ids: three
        columns, no ORM objects (the alert sender asks for them at every send)."""
        found: dict[int, tuple[str | None, str, str | None]] = {}
        for chunk in id_chunks(chat_ids):
            result = await self._session.execute(_LANGUAGES, {"ids": chunk})
            found.update((row[0], (row[1], row[2], row[3])) for row in result)
        return found

    async def ensure(self, chat_id: int, kind: str, title: str | None, at: datetime) -> Chat:
        """The chat's row, created on first use and locked until the transaction ends.

        Updates for one chat may be handled side by side (a double /subscribe, two processes):
        the lock makes their read-then-write steps take turns. PostgreSQL locks the row;
        SQLite has one writer at a time, and the insert below already made this one it.
        """
        insert = _insert_ignoring_duplicates(self._session, Chat).values(
            id=chat_id,
            kind=kind,
            title=title,
            active=True,
            digest="off",
            timezone="UTC",
            created_at=at,
        )
        await self._session.execute(insert)
        chat = await self.get(chat_id, lock=True)
        assert chat is not None
        return chat

    async def set_active(self, chat_id: int, active: bool, reason: str | None) -> bool:
        result = await self._session.execute(
            update(Chat).where(Chat.id == chat_id).values(active=active, paused_reason=reason)
        )
        return bool(getattr(result, "rowcount", 0))

    async def set_next_send(self, chat_id: int, moment: datetime) -> None:
        await self._session.execute(
            update(Chat)
            .where(Chat.id == chat_id)
            .values(next_send_at=moment)
            .execution_options(synchronize_session=False)
        )

    async def set_next_send_many(self, chat_ids: Collection[int], moment: datetime) -> None:
        """``set_next_send`` for many chats at once (the alert sender settles them together)."""
        for chunk in id_chunks(chat_ids):
            await self._session.execute(_NEXT_SEND, {"ids": chunk, "moment": moment})

    async def hold_back(self, chat_ids: Iterable[int], until: Callable[[str], datetime]) -> None:
        """Send nothing to these chats before ``until(kind)`` (later settings are kept)."""
        for chat in (await self.get_many(chat_ids)).values():
            moment = until(chat.kind)
            if chat.next_send_at is None or chat.next_send_at < moment:
                chat.next_send_at = moment

    async def migrate(self, old_id: int, new_id: int, at: datetime) -> None:
        """Move a group's settings, subscriptions, followed feeds, managers and pending
        alerts to its supergroup id.

        Telegram sends two service messages for one upgrade, which may be handled at the
        same moment: the old row's lock makes the second move wait for the first, and the
        new row is inserted-or-left-alone, so the second finds nothing left to move.
        """
        old = await self.get(old_id, lock=True)
        if old is None:
            return
        await self._session.execute(
            _insert_ignoring_duplicates(self._session, Chat).values(
                id=new_id,
                kind="supergroup",
                title=old.title,
                active=True,
                paused_reason=None,
                digest=old.digest,
                quiet_start=old.quiet_start,
                quiet_end=old.quiet_end,
                timezone=old.timezone,
                next_send_at=None,
                created_at=at,
                username=old.username,
                connected_by=old.connected_by,
            )
        )
        await self._session.execute(
            update(Subscription).where(Subscription.chat_id == old_id).values(chat_id=new_id)
        )
        # Whoever managed the group from a private chat manages the supergroup.
        managing = select(ChatManager.user_id).where(ChatManager.chat_id == new_id)
        await self._session.execute(
            delete(ChatManager).where(
                ChatManager.chat_id == old_id, ChatManager.user_id.in_(managing)
            )
        )
        await self._session.execute(
            update(ChatManager).where(ChatManager.chat_id == old_id).values(chat_id=new_id)
        )
        await FollowRepository(self._session).move_chat(old_id, new_id)
        # An alert already queued for the new id wins; the old id's copy is dropped.
        taken = select(OutboxMessage.article_id).where(OutboxMessage.chat_id == new_id)
        await self._session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.chat_id == old_id, OutboxMessage.article_id.in_(taken)
            )
        )
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == old_id, OutboxMessage.status.in_((PENDING, SENDING)))
            .values(chat_id=new_id)
        )
        await self._session.execute(
            update(Chat)
            .where(Chat.id == old_id)
            .values(active=False, paused_reason=f"migrated to {new_id}")
        )


class ChatManagerRepository:
    """Who manages which channel or group from a private chat."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, chat_id: int, user_id: int, at: datetime) -> None:
        await self._session.execute(
            _insert_ignoring_duplicates(self._session, ChatManager).values(
                chat_id=chat_id, user_id=user_id, added_at=at
            )
        )

    async def chats_of(self, user_id: int) -> list[Chat]:
        """The chats this user manages, in the order they were connected."""
        result = await self._session.execute(
            select(Chat)
            .join(ChatManager, ChatManager.chat_id == Chat.id)
            .where(ChatManager.user_id == user_id)
            .order_by(ChatManager.added_at, Chat.id)
        )
        return list(result.scalars())


class SubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, subscription: Subscription) -> Subscription:
        self._session.add(subscription)
        await self._session.flush()
        return subscription

    async def for_chat(self, chat_id: int) -> list[Subscription]:
        result = await self._session.execute(
            select(Subscription).where(Subscription.chat_id == chat_id).order_by(Subscription.id)
        )
        return list(result.scalars())

    async def count_for_chat(self, chat_id: int) -> int:
        result = await self._session.execute(
            select(func.count()).select_from(Subscription).where(Subscription.chat_id == chat_id)
        )
        return int(result.scalar_one())

    async def remove(self, chat_id: int, subscription_id: int | None) -> int:
        """Remove one subscription of the chat (or all, given None); return how many went."""
        condition = Subscription.chat_id == chat_id
        if subscription_id is not None:
            condition = and_(condition, Subscription.id == subscription_id)
        result = await self._session.execute(delete(Subscription).where(condition))
        return int(getattr(result, "rowcount", 0) or 0)

    async def move_topic(self, chat_id: int, old_topic: int, new_topic: int) -> None:
        await self._session.execute(
            update(Subscription)
            .where(Subscription.chat_id == chat_id, Subscription.topic == old_topic)
            .values(topic=new_topic)
        )

    async def all_active(self) -> list[Subscription]:
        """Subscriptions of chats that can currently receive messages."""
        result = await self._session.execute(
            select(Subscription).join(Chat, Chat.id == Subscription.chat_id).where(Chat.active)
        )
        return list(result.scalars())

    async def version(self) -> Version:
        """Changes whenever the active subscriptions change (see active_version)."""
        return await active_version(self._session, Subscription)


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(self, rows: Sequence[dict[str, Any]]) -> None:
        """Queue alerts; a (chat, topic, article) already queued is left alone."""
        if rows:
            await self._session.execute(
                _insert_ignoring_duplicates(self._session, OutboxMessage), list(rows)
            )

    async def claim(
        self,
        worker: str,
        now: datetime,
        lease_until: datetime,
        limit: int,
        busy_chats: Collection[int] = (),
    ) -> list[Claimed]:
        """Lease up to ``limit`` due alerts, at most one per chat, from chats ready to receive
        (and not among ``busy_chats``: those with a send of this worker in flight).

        The chats owed the most of the alerts due next come first, each with its earliest
        one. Telegram lets a chat have one message a second and a group twenty a minute, so
        a chat owed thirty alerts needs half a minute (a group more than one) however fast the
        rest goes: started late, its chain is all that is left at the end and the sender
        idles, started first it runs beside everybody else's single alerts. Only the
        ``LOOK_AHEAD`` alerts due next (more for a big claim) are counted, so a chat owed
        one alert waits at most for the chats in that look-ahead, each of which takes one a
        second at most."""
        ready = (
            select(OUTBOX.c.id, OUTBOX.c.chat_id, OUTBOX.c.topic)
            .join(CHATS, CHATS.c.id == OUTBOX.c.chat_id)
            .where(
                *_claimable(now),
                CHATS.c.active,
                or_(CHATS.c.next_send_at.is_(None), CHATS.c.next_send_at <= now),
            )
            .order_by(OUTBOX.c.due_at, OUTBOX.c.id)
            .limit(max(limit * 20, LOOK_AHEAD))
        )
        if busy_chats:
            ready = ready.where(OUTBOX.c.chat_id.not_in(list(busy_chats)))
        first: dict[int, int] = {}  # chat -> its earliest due alert (dicts keep due order)
        owed: Counter[int] = Counter()
        for row_id, chat_id, _topic in (await self._session.execute(ready)).all():
            first.setdefault(chat_id, row_id)
            owed[chat_id] += 1
        # sorted() is stable: among chats owed as many, the one due first goes first.
        chosen = sorted(first, key=lambda chat_id: -owed[chat_id])[:limit]
        rank = {first[chat_id]: n for n, chat_id in enumerate(chosen)}
        locked = await self.lease(list(rank), worker, now, lease_until)
        if not locked:
            return []
        rows = await self._session.execute(select(*_CLAIMED_COLUMNS).where(OUTBOX.c.id.in_(locked)))
        return sorted((Claimed(*row) for row in rows.all()), key=lambda c: rank[c.id])

    async def lease(
        self, ids: Sequence[int], worker: str, now: datetime, lease_until: datetime
    ) -> list[int]:
        """Lease those of these alerts that are claimable as they are locked and written;
        returns their ids. Whatever was read before may be stale: between that read and
        this, another worker may have claimed, sent and settled a row ("sent", lease
        cleared), and leasing it again would send it twice."""
        if not ids:
            return []
        lockable = select(OUTBOX.c.id).where(OUTBOX.c.id.in_(list(ids)), *_claimable(now))
        if _dialect(self._session) == "postgresql":
            # Another worker may be claiming the same rows right now: skip what it holds
            # (never waiting for it, so two leases never deadlock).
            lockable = lockable.with_for_update(skip_locked=True)
        locked = [int(i) for i in (await self._session.execute(lockable)).scalars()]
        if not locked:
            return []
        leased = await self._session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(locked), *_claimable(now))
            .values(claimed_by=worker, claimed_until=lease_until)
            .returning(OUTBOX.c.id)
        )
        return sorted(int(i) for i in leased.scalars())

    async def release_all_claims(self) -> list[int]:
        """Unlease every pending alert; return the chats they were for."""
        released = await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.claimed_by.is_not(None), OutboxMessage.status == PENDING)
            .values(claimed_by=None, claimed_until=None)
            .returning(OutboxMessage.chat_id)
        )
        return sorted({int(chat_id) for chat_id in released.scalars()})

    async def mark_sending(self, ids: Sequence[int], worker: str, lease_until: datetime) -> None:
        """Record that these alerts' request is about to leave: from now on they may arrive."""
        await self._session.execute(
            _MARK_SENDING, {"ids": list(ids), "worker": worker, "until": lease_until}
        )

    async def recover_sending(self, now: datetime, *, expired_only: bool) -> list[int]:
        """Alerts left "sending" by a sender that died (or lost its database) mid-request:
        each may have arrived. One that was unsure before is not sent again (unconfirmed);
        the others go once more. Returns the chats they were for."""
        stale = [OutboxMessage.status == SENDING]
        if expired_only:
            stale.append(_unleased(now))
        chats = await self._session.execute(
            update(OutboxMessage)
            .where(*stale, OutboxMessage.unsure >= 1)
            .values(
                status=UNCONFIRMED,
                last_error="may have arrived twice; not sent again",
                claimed_by=None,
                claimed_until=None,
            )
            .returning(OutboxMessage.chat_id)
        )
        found = {int(chat_id) for chat_id in chats.scalars()}
        chats = await self._session.execute(
            update(OutboxMessage)
            .where(*stale)
            .values(
                status=PENDING,
                unsure=OutboxMessage.unsure + 1,
                last_error="the sender stopped while this was being sent; it may have arrived",
                claimed_by=None,
                claimed_until=None,
            )
            .returning(OutboxMessage.chat_id)
        )
        found.update(int(chat_id) for chat_id in chats.scalars())
        return sorted(found)

    async def maybe_sent(
        self, ids: Sequence[int], due_at: datetime, error: str, *, last_attempt: bool
    ) -> int:
        """The send may have arrived: go once more at ``due_at`` unless one was unsure before
        (or attempts are used up), then stop as unconfirmed. Returns how many stopped."""
        ids = list(ids)
        done = update(OutboxMessage).where(OutboxMessage.id.in_(ids))
        if not last_attempt:
            done = done.where(OutboxMessage.unsure >= 1)
        stopped = await self._session.execute(
            done.values(
                status=UNCONFIRMED,
                unsure=OutboxMessage.unsure + 1,
                attempts=OutboxMessage.attempts + 1,
                last_error=error,
                claimed_by=None,
                claimed_until=None,
            )
        )
        await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == SENDING)
            .values(
                status=PENDING,
                due_at=due_at,
                unsure=OutboxMessage.unsure + 1,
                attempts=OutboxMessage.attempts + 1,
                last_error=error,
                claimed_by=None,
                claimed_until=None,
            )
        )
        return int(getattr(stopped, "rowcount", 0) or 0)

    async def pending_for(
        self, chat_id: int, topic: int, now: datetime, limit: int
    ) -> list[Claimed]:
        """Due, unclaimed alerts of one chat and topic (the rest of a digest)."""
        result = await self._session.execute(
            select(OutboxMessage)
            .where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.topic == topic,
                *_claimable(now),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        return [_claimed(r) for r in result.scalars()]

    async def finish(
        self, ids: Sequence[int], status: str, at: datetime, error: str | None = None
    ) -> None:
        await self._session.execute(
            _FINISH,
            {
                "ids": list(ids),
                "status": status,
                "sent_at": at if status == SENT else None,
                "error": error,
            },
        )

    async def defer(
        self,
        ids: Sequence[int],
        due_at: datetime | None,
        error: str | None,
        *,
        count_attempt: bool,
    ) -> None:
        """Put alerts back in the queue for later (and count a failed attempt, if it was one).

        ``due_at`` None: due when they were, so an alert put back unsent (its chat had no
        room yet, or the sender stopped) keeps its place and goes before the chat's later
        ones, not after all of them."""
        values: dict[str, Any] = {"status": PENDING, "claimed_by": None, "claimed_until": None}
        if due_at is not None:
            values["due_at"] = due_at
        if error is not None:
            values["last_error"] = error
        if count_attempt:
            values["attempts"] = OutboxMessage.attempts + 1
        await self._session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(list(ids))).values(**values)
        )

    async def reschedule(self, chat_id: int, due: Callable[[datetime], datetime]) -> None:
        """Recompute when a chat's queued alerts are due (its delivery settings changed)."""
        result = await self._session.execute(
            select(OutboxMessage.id, OutboxMessage.created_at).where(
                OutboxMessage.chat_id == chat_id, OutboxMessage.status == PENDING
            )
        )
        for row_id, created_at in result.all():
            await self._session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(due_at=due(created_at))
            )

    async def drop_pending(self, chat_id: int, reason: str) -> int:
        result = await self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == PENDING)
            .values(status=DROPPED, last_error=reason, claimed_by=None, claimed_until=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def counts(self) -> dict[str, int]:
        result = await self._session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status: int(n) for status, n in result.all()}


class CursorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self, name: str, *, initial: int = 0) -> int:
        """The cursor's position, locked until the transaction ends (created at initial if new)."""
        await self._session.execute(
            _insert_ignoring_duplicates(self._session, Cursor).values(name=name, position=initial)
        )
        query = select(Cursor.position).where(Cursor.name == name)
        if _dialect(self._session) == "postgresql":
            query = query.with_for_update()
        return int((await self._session.execute(query)).scalar_one())

    async def move(self, name: str, position: int) -> None:
        await self._session.execute(
            update(Cursor).where(Cursor.name == name).values(position=position)
        )
