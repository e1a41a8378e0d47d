"""The feed loop every alerts process runs, and its setting."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.feed_loop import FeedLoop
from bot.settings import Settings, SettingsError
from services.feeds.run import PollReport
from services.feeds.service import FeedService
from services.ingest import IngestService
from tests.conftest import FixedClock
from tests.services.feeds.test_feed_service import public_dns, rss


async def test_the_loop_polls_due_feeds_reports_each_and_stops(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock
) -> None:
    hung = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "hangs.example":
            hung.set()
            await asyncio.Event().wait()  # until the stop cuts it short
        return httpx.Response(200, content=rss(("1", f"News from {request.url.host}", None)))

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    feeds = FeedService(
        sessions, IngestService(sessions, clock=clock), client, clock=clock, resolver=public_dns
    )
    for host in ("one.example", "two.example", "hangs.example"):
        await feeds.add(f"https://{host}/rss")
    seen: list[PollReport] = []
    loop = FeedLoop(feeds, check_every=0.01, on_report=seen.append, grace=0.05)
    loop.start()
    await hung.wait()
    for _ in range(500):
        if len(seen) == 2:
            break
        await asyncio.sleep(0.01)
    await loop.stop()  # the hanging poll is cut short: stop returns
    assert sorted((r.url, r.status, r.added) for r in seen) == [
        ("https://one.example/rss", "ok", 1),
        ("https://two.example/rss", "ok", 1),
    ]
    (hanging,) = [f for f in await feeds.list_feeds() if "hangs" in f.url]
    assert hanging.next_poll_at == clock.now  # given back, due at once for another process


@pytest.mark.parametrize("raw", ["0", "-3", "ten", "1001", "2.5"])
def test_feed_concurrency_must_be_a_sensible_number(raw: str) -> None:
    with pytest.raises(SettingsError, match="FEED_CONCURRENCY must be a whole number"):
        Settings.from_env({"FEED_CONCURRENCY": raw})


def test_feed_concurrency_defaults_to_64_and_can_be_set() -> None:
    assert Settings.from_env({}).feed_concurrency == 64
    assert Settings.from_env({"FEED_CONCURRENCY": ""}).feed_concurrency == 64
    assert Settings.from_env({"FEED_CONCURRENCY": " 200 "}).feed_concurrency == 200


def test_feed_parse_processes_default_to_none_and_are_bounded() -> None:
    assert Settings.from_env({}).feed_parse_processes == 0
    assert Settings.from_env({"FEED_PARSE_PROCESSES": "2"}).feed_parse_processes == 2
    with pytest.raises(SettingsError, match="FEED_PARSE_PROCESSES must be a whole number"):
        Settings.from_env({"FEED_PARSE_PROCESSES": "many"})
