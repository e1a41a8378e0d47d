"""GroupCommit: callers that ask while a write is under way share the next one."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from services.alerts.grouped import GroupCommit


async def test_callers_arriving_during_a_write_share_the_next_one() -> None:
    groups: list[list[int]] = []

    async def write(items: Sequence[int]) -> None:
        groups.append(list(items))
        await asyncio.sleep(0.01)  # a commit takes a while; others ask meanwhile

    commit: GroupCommit[int] = GroupCommit(write)
    callers = []
    for n in range(10):  # one answer every 3 ms
        callers.append(asyncio.create_task(commit.add(n)))
        await asyncio.sleep(0.003)
    await asyncio.gather(*callers)
    assert groups[0] == [0]  # the first is written at once, not held for company
    assert sorted(n for group in groups for n in group) == list(range(10))
    assert len(groups) < 10
    assert (commit.items, commit.writes) == (10, len(groups))


async def test_a_failed_write_fails_exactly_its_own_callers() -> None:
    async def write(items: Sequence[int]) -> None:
        await asyncio.sleep(0.01)
        if 0 in items:
            raise RuntimeError("database unavailable")

    commit: GroupCommit[int] = GroupCommit(write)
    first = asyncio.create_task(commit.add(0))
    await asyncio.sleep(0)  # the first write is under way
    later = [asyncio.create_task(commit.add(n)) for n in (1, 2)]
    with pytest.raises(RuntimeError, match="database unavailable"):
        await first
    await asyncio.gather(*later)  # the next write, without 0, went through
    assert commit.writes == 2


async def test_a_caller_given_up_on_does_not_stop_the_write() -> None:
    written: list[int] = []

    async def write(items: Sequence[int]) -> None:
        await asyncio.sleep(0.02)
        written.extend(items)

    commit: GroupCommit[int] = GroupCommit(write)
    waiting = asyncio.create_task(commit.add(7))
    await asyncio.sleep(0.005)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await commit.add(8)
    assert written == [7, 8]
