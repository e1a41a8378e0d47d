"""Group commits: many callers' small writes made in one transaction, each caller still
told exactly when (and whether) its own write is committed.

At paid-broadcast rates a commit per sent alert is most of the sender's CPU. Whoever asks
while a transaction is being written waits for the next one, which then takes everything
asked for so far: one caller alone is written at once, many at a time share a commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")


class GroupCommit(Generic[Item]):
    """Calls ``write`` with every item waiting, one call at a time; ``add`` returns once its
    item's call has returned, and raises what that call raised."""

    def __init__(self, write: Callable[[Sequence[Item]], Awaitable[None]]) -> None:
        self._write = write
        self._waiting: list[tuple[Item, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.writes = 0  # transactions made, for the log and the benchmarks
        self.items = 0

    async def add(self, item: Item) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group commit")
            self._writer.add_done_callback(self._stopped)
        # Shielded: a caller given up on does not undo a write that may be under way.
        await asyncio.shield(done)

    async def _drain(self) -> None:
        while self._waiting:
            group = self._waiting[:]
            try:
                await self._write([item for item, _ in group])
            except Exception as error:
                outcome: Exception | None = error
            else:
                outcome = None
            del self._waiting[: len(group)]
            self.writes += 1
            self.items += len(group)
            for _, done in group:
                if done.done():
                    continue
                if outcome is None:
                    done.set_result(None)
                else:
                    done.set_exception(outcome)
                    done.exception()  # read here: a caller given up on may never read it

    def _stopped(self, writer: asyncio.Task[None]) -> None:
        """Cancelled (the loop is closing): whoever still waits is told, not left hanging."""
        if writer.cancelled():
            waiting, self._waiting = self._waiting, []
            for _, done in waiting:
                done.cancel()
