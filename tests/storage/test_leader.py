"""One leader per database, on PostgreSQL (advisory lock) and SQLite (a lock file)."""

from __future__ import annotations

from storage.leader import LeaderLock
from tests.conftest import EngineFactory


async def test_only_one_process_leads_and_the_next_takes_over(
    engine_factory: EngineFactory,
) -> None:
    first, second = LeaderLock(engine_factory.new()), LeaderLock(engine_factory.new())
    assert await first.try_acquire()
    assert await first.try_acquire()  # asking again while leading is fine
    assert not await second.try_acquire()
    await first.release()
    assert await second.try_acquire()
    assert not await first.try_acquire()
    await second.release()


async def test_a_dead_leaders_lock_is_freed_with_its_connection(
    engine_factory: EngineFactory,
) -> None:
    doomed = engine_factory.new()
    leader = LeaderLock(doomed)
    assert await leader.try_acquire()
    await doomed.dispose()  # what the operating system does for a killed process's sockets
    if leader._connection is not None:  # PostgreSQL: drop the session that held the lock
        await leader._connection.invalidate()
    elif leader._file is not None:  # SQLite: the kernel drops a dead process's flock
        leader._file.close()
    successor = LeaderLock(engine_factory.new())
    assert await successor.try_acquire()
    await successor.release()
