"""The alert matcher's two building blocks: a log read past a cursor, an index kept fresh.

Both of the matcher's logs (the article event log, the feed item log) are read the same
way, and both of its rule sets (subscriptions, follows) are cached the same way: here, once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from storage.alerts import CursorRepository
from storage.event_log import GapTracker

NEW_CURSOR = -1  # where a cursor stands before its first run
# Rules are re-read when their version changes, and at least this often (a safety net).
INDEX_MAX_AGE_SECONDS = 5.0


class Logged(Protocol):
    @property
    def seq(self) -> int: ...


E = TypeVar("E", bound=Logged)
I = TypeVar("I")  # noqa: E741 (the index type)


class LogTail(Generic[E]):
    """One log followed by one cursor, locked for the transaction that acts on a batch.

    The cursor row's lock keeps two processes from reading the same entries at once; a hole
    in the log (a transaction still open) holds the cursor back a while (GapTracker).
    """

    def __init__(
        self,
        cursor: str,
        last_seq: Callable[[AsyncSession], Awaitable[int]],
        after: Callable[[AsyncSession, int, int], Awaitable[Sequence[E]]],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cursor = cursor
        self._last_seq = last_seq
        self._after = after
        self._gaps = GapTracker(monotonic)

    async def read(
        self,
        session: AsyncSession,
        limit: int,
        handle: Callable[[Sequence[E]], Awaitable[int]],
    ) -> int:
        """Hand the next batch past the cursor to ``handle`` and move past it; return what
        ``handle`` returned (0 when there was nothing to read)."""
        cursors = CursorRepository(session)
        position = await cursors.lock(self._cursor, initial=NEW_CURSOR)
        if position == NEW_CURSOR:
            # A new installation acts from now on, not on the whole log. (Not "position 0":
            # that is also where a cursor over an empty log stands.)
            await cursors.move(self._cursor, await self._last_seq(session))
            return 0
        entries = await self._after(session, position, limit)
        if not entries:
            return 0
        done = await handle(entries)
        await cursors.move(self._cursor, self._gaps.advance(position, [e.seq for e in entries]))
        return done


class CachedIndex(Generic[I]):
    """An index built from stored rules, built again when their version changes."""

    def __init__(
        self,
        version: Callable[[AsyncSession], Awaitable[object]],
        build: Callable[[AsyncSession], Awaitable[I]],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._version = version
        self._build = build
        self._monotonic = monotonic
        self._index: I | None = None
        self._key: object = None
        self._loaded_at = 0.0

    async def get(self, session: AsyncSession) -> I:
        key = await self._version(session)
        age = self._monotonic() - self._loaded_at
        if self._index is None or key != self._key or age > INDEX_MAX_AGE_SECONDS:
            self._index = await self._build(session)
            self._key, self._loaded_at = key, self._monotonic()
        return self._index
