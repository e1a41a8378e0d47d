"""Readiness, liveness and the outbox figures, judged against a real database and index."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from bot.health import READY_LAG_SECONDS, STUCK_SECONDS, HealthMonitor
from bot.metrics import Metrics
from bot.runtime import Runtime
from bot.settings import Settings
from services.parsing import RawArticle
from storage.db import create_engine, create_session_factory
from storage.models import OutboxMessage
from tests.conftest import FixedClock


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def runtime(tmp_path: Path, clock: FixedClock) -> AsyncIterator[Runtime]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'h.db'}", search_index_dir=tmp_path / "i"
    )
    opened = await Runtime.open(settings, clock=clock)
    yield opened
    await opened.close()


def monitor_for(runtime: Runtime, ticks: Ticks, clock: FixedClock) -> HealthMonitor:
    monitor = HealthMonitor(Metrics(), monotonic=ticks, clock=clock)
    monitor.attach(runtime.sessions, runtime.follower.index)
    return monitor


async def store(runtime: Runtime, title: str) -> None:
    await runtime.services.ingest.ingest([(RawArticle(title, f"{title} body text."), "test")])


async def test_ready_while_articles_arrive_not_when_the_index_stops_following(
    runtime: Runtime, clock: FixedClock
) -> None:
    ticks = Ticks()
    monitor = monitor_for(runtime, ticks, clock)
    assert monitor.readiness().reason == "database not answering"  # nothing sampled yet
    await monitor.sample()
    assert monitor.readiness().ready
    await store(runtime, "Harbour reopens")
    ticks.now += 1
    await monitor.sample()
    assert monitor.readiness().ready  # just stored: the index has a few seconds
    ticks.now += READY_LAG_SECONDS
    await monitor.sample()
    readiness = monitor.readiness()
    assert (readiness.ready, readiness.reason) == (False, "search index 1 events behind")
    assert "newsbot_index_lag_events 1.0" in generate_latest(monitor.metrics.registry).decode()
    await runtime.follower.catch_up()
    await monitor.sample()
    assert monitor.readiness().ready


async def test_not_ready_when_starting_behind(runtime: Runtime, clock: FixedClock) -> None:
    await store(runtime, "Bridge closes")
    monitor = monitor_for(runtime, Ticks(), clock)
    await monitor.sample()
    assert monitor.readiness().reason == "search index 1 events behind"


async def test_not_ready_without_a_database_or_while_stopping(
    tmp_path: Path, runtime: Runtime, clock: FixedClock
) -> None:
    ticks = Ticks()
    monitor = HealthMonitor(Metrics(), monotonic=ticks, clock=clock)
    assert monitor.readiness().reason == "starting"
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    monitor.attach(create_session_factory(engine), runtime.follower.index)
    await monitor.sample()
    assert monitor.readiness().reason == "database not answering"
    await engine.dispose()
    monitor.attach(runtime.sessions, runtime.follower.index)
    await monitor.sample()
    assert monitor.readiness().ready
    monitor.stopping()
    assert monitor.readiness().reason == "shutting down"


async def test_alive_until_the_heartbeat_stops(runtime: Runtime, clock: FixedClock) -> None:
    ticks = Ticks()
    monitor = monitor_for(runtime, ticks, clock)
    assert monitor.alive()
    ticks.now += STUCK_SECONDS + 1
    assert not monitor.alive()


async def test_outbox_figures_come_from_the_shared_database(
    runtime: Runtime, clock: FixedClock
) -> None:
    now = clock()
    rows = [
        ("pending", now - timedelta(minutes=1), 0),
        ("pending", now - timedelta(seconds=1), 2),
        ("pending", now + timedelta(hours=1), 0),  # quiet hours: queued, not yet due
        ("sent", now, 1),
        ("failed", now, 3),
        ("dropped", now, 0),
    ]
    async with runtime.sessions.begin() as session:
        session.add_all(
            OutboxMessage(
                chat_id=700 + n,
                topic=0,
                article_id=1,
                status=status,
                due_at=due,
                attempts=attempts,
                created_at=now,
            )
            for n, (status, due, attempts) in enumerate(rows)
        )
    monitor = monitor_for(runtime, Ticks(), clock)
    await monitor.refresh_shared_metrics()
    text = generate_latest(monitor.metrics.registry).decode()
    for state, count in (("pending", 3), ("sent", 1), ("failed", 1), ("dropped", 1)):
        assert f'newsbot_alerts{{state="{state}"}} {count}.0' in text
    assert "newsbot_alert_outbox_backlog 2.0" in text
    assert "newsbot_alert_retries 6.0" in text
