"""Webhook mode against long polling: updates handled per second, and each update's round trip.

Usage: python -m bench.webhook [--updates 1000] [--chats 100] [--latency-ms 20]

One process, the real Application and HTTP server, the fake Bot API answering every call
after --latency-ms (Telegram's round trip). The same /help updates (--chats chats, each
sending its share) go in two ways:
- baseline: long polling, as `newsbot run` does today (all updates queued at the fake);
- webhook: POSTed to the server the way the Bot API delivers, one update at a time per chat
  (the next only after the last was acknowledged), chats side by side over 40 connections.
Reported: time until every update got its reply, updates/s, the ratio, and for the webhook
the round trip of a delivery (POST to acknowledgement, which comes after the reply).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from bot.settings import Secret, Settings
from bot.webhook import BotServer
from tests.helpers.botapi import FakeBotApi
from tests.helpers.fake_request import FakeRequest
from tests.helpers.webhook_delivery import WebhookDelivery

TOKEN = "123456:bench-token"
SECRET = "bench-secret"


def settings_in(folder: Path, *, webhook: bool) -> Settings:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'bench.db'}",
        telegram_bot_token=Secret(TOKEN),
        search_index_dir=folder / "index",
        alerts_in_bot=False,
        http_port=0,
    )
    if webhook:
        settings = replace(
            settings, webhook_url="https://bot.example.org/hook", webhook_secret=Secret(SECRET)
        )
    return settings


def make_updates(api: FakeBotApi, count: int, chats: int) -> list[dict[str, object]]:
    return [
        api.updates.message_update("/help", chat_id=1000 + n % chats, user_id=1000 + n % chats)
        for n in range(count)
    ]


async def polling(folder: Path, count: int, chats: int, latency: float) -> float:
    api = FakeBotApi(token=TOKEN)
    bot = BotServer(
        settings_in(folder, webhook=False),
        request=FakeRequest(api, latency=latency),
        get_updates_request=FakeRequest(api),
    )
    await bot.start()
    try:
        await api.wait_for_poll(within=30)
        updates = make_updates(api, count, chats)
        started = time.perf_counter()
        for update in updates:
            api.push_update(update)
        await api.wait_for_calls("sendMessage", count, within=600)
        return time.perf_counter() - started
    finally:
        await bot.stop()


async def webhook(
    folder: Path, count: int, chats: int, latency: float
) -> tuple[float, list[float]]:
    api = FakeBotApi(token=TOKEN)
    bot = BotServer(settings_in(folder, webhook=True), request=FakeRequest(api, latency=latency))
    await bot.start()
    # Telegram's side runs in a process of its own, as it would: its HTTP client does not
    # share the bot's event loop.
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        url = f"http://127.0.0.1:{bot.http.port}/hook"
        await asyncio.get_running_loop().run_in_executor(pool, deliver_in_child, url, [])
        updates = make_updates(api, count, chats)
        started = time.perf_counter()
        statuses, trips = await asyncio.get_running_loop().run_in_executor(
            pool, deliver_in_child, url, updates
        )
        elapsed = time.perf_counter() - started
        assert set(statuses.values()) == {200}, "some deliveries failed"
        assert len(api.calls_to("sendMessage")) == count
        return elapsed, trips
    finally:
        pool.shutdown()
        await bot.stop()


def deliver_in_child(
    url: str, updates: list[dict[str, object]]
) -> tuple[dict[int, int], list[float]]:
    """Deliver like the Bot API; the statuses and each POST's round trip."""
    trips: list[float] = []

    class Timed(WebhookDelivery):
        async def post(self, session: aiohttp.ClientSession, update: Mapping[str, Any]) -> int:
            began = time.perf_counter()
            status = await super().post(session, update)
            trips.append(time.perf_counter() - began)
            return status

    statuses = Timed(url, SECRET).deliver_blocking(updates)
    return statuses, trips


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    # On a loaded machine the index-follow job now and then skips a turn; that is not news.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        base = await polling(Path(a), args.updates, args.chats, latency)
        hook, trips = await webhook(Path(b), args.updates, args.chats, latency)
    print(f"{args.updates} updates from {args.chats} chats, Bot API latency {args.latency_ms} ms")
    print(f"baseline, long polling: {base:6.2f} s  {args.updates / base:7.1f} updates/s")
    print(f"webhook:                {hook:6.2f} s  {args.updates / hook:7.1f} updates/s")
    print(f"webhook / polling throughput: {base / hook:.2f}x")
    print(
        f"webhook round trip (POST to ack, reply included): median "
        f"{statistics.median(trips) * 1000:.1f} ms, p95 {pct(trips, 0.95) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
