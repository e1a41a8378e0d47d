"""Feed polling: 1,000 feeds served from loopback, one full poll cycle and a conditional one.

Usage: python -m bench.feeds [--feeds 1000] [--database postgresql+asyncpg://...]

A separate process serves generated feeds on 127.0.0.1 (aiohttp): RSS 2.0, Atom and
RSS 1.0 with 20-50 entries each, half with full content; half answer 304 to If-None-Match,
a fifth to If-Modified-Since, the rest always send the whole feed. About 5% are slow
(1.5-3 s), 0.5% hang past the 20 s timeout, and 4% are broken (HTTP 500 or 404, malformed
XML, an HTML page). The poller is the product's: Runtime.open (as ``newsbot worker`` does,
with FEED_ALLOWED_HOSTS=127.0.0.1 so the SSRF guard lets loopback through), feeds added
with FeedService.add, and a cycle is FeedService.poll_due called until nothing is due.
Peak RSS is sampled (psutil) in the polling process; the feed server is another process.
Then every feed is made due again and polled a second time (conditional GET).
Baselines in the same run: plain httpx GETs of every feed at the same concurrency (no
parsing, no storing), and parsing every fetched body with the product's parser alone.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import httpx
import psutil
from aiohttp import web
from sqlalchemy import update

from bench import alertkit as kit
from bot.runtime import Runtime
from bot.settings import Settings
from services.feeds.parse import parse_feed
from storage.models import Feed

FEEDS = 1000
CONCURRENCY = 10  # FeedService's default


# -- the feed server (a separate process) ----------------------------------------------------


def feed_kind(n: int) -> str:
    """What feed number n does: mostly fine, some slow, a few hanging or broken."""
    slot = n % 200
    if slot < 10:
        return "slow"
    if slot == 10:
        return "hang"
    if slot < 14:
        return "http500"
    if slot < 16:
        return "http404"
    if slot < 18:
        return "malformed"
    if slot == 18:
        return "html"
    return "ok"


def _feed_body(n: int, world: kit.World, now: datetime) -> bytes:
    rng = random.Random(n)
    flavour = ("rss2", "rss2", "rss2", "atom", "atom", "atom", "rss1", "rss2", "rss2", "rss2")[
        n % 10
    ]
    full_content = n % 2 == 0
    records = kit.make_articles(world, rng.randint(20, 50), seed=n, prefix=f"f{n}")
    base = f"http://127.0.0.1/site{n}"
    items = []
    for i, record in enumerate(records):
        published = now - timedelta(hours=i + 1)
        paragraphs = record["body"].split("\n\n")
        summary = paragraphs[0][:300]
        content = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        link = f"{base}/story/{i}"
        if flavour == "atom":
            body = f'<content type="html">{escape(content)}</content>' if full_content else ""
            items.append(
                f"<entry><id>tag:site{n},2026:{i}</id><title>{escape(record['title'])}</title>"
                f'<link href="{link}"/><updated>{published.isoformat()}</updated>'
                f"<summary>{escape(summary)}</summary>{body}</entry>"
            )
        else:
            body = (
                f"<content:encoded><![CDATA[{content}]]></content:encoded>" if full_content else ""
            )
            about = f' rdf:about="{link}"' if flavour == "rss1" else ""
            date = (
                f"<dc:date>{published.isoformat()}</dc:date>"
                if flavour == "rss1"
                else f"<pubDate>{format_datetime(published)}</pubDate>"
            )
            items.append(
                f"<item{about}><title>{escape(record['title'])}</title><link>{link}</link>"
                f"<guid>{link}</guid>{date}<description>{escape(summary)}</description>"
                f"{body}</item>"
            )
    if flavour == "atom":
        text = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Site {n}</title><id>tag:site{n},2026:feed</id>"
            f"<updated>{now.isoformat()}</updated>{''.join(items)}</feed>"
        )
    elif flavour == "rss1":
        text = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            ' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
            ' xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f'<channel rdf:about="{base}"><title>Site {n}</title><link>{base}</link>'
            f"<description>News</description></channel>{''.join(items)}</rdf:RDF>"
        )
    else:
        text = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"'
            ' xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>Site {n}</title><link>{base}</link>"
            f"<description>News</description>{''.join(items)}</channel></rss>"
        )
    return text.encode()


def serve(count: int) -> None:
    """Generate every feed, bind 127.0.0.1, print the port, serve until stdin closes."""
    world = kit.World.build()
    now = datetime.now(UTC)
    bodies = {n: _feed_body(n, world, now) for n in range(count)}
    last_modified = format_datetime(now, usegmt=True)

    async def handle(request: web.Request) -> web.StreamResponse:
        n = int(request.match_info["n"])
        kind = feed_kind(n)
        if kind == "slow":
            await asyncio.sleep(1.5 + (n % 7) / 4)
        elif kind == "hang":
            await asyncio.sleep(30)
        elif kind == "http500":
            return web.Response(status=500, text="Internal Server Error")
        elif kind == "http404":
            return web.Response(status=404, text="Not Found")
        elif kind == "malformed":
            return web.Response(body=bodies[n][: len(bodies[n]) // 2], content_type="text/xml")
        elif kind == "html":
            return web.Response(text="<html><body>Moved</body></html>", content_type="text/html")
        etag = f'"v1-{n}"'
        if n % 2 == 0 and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        if n % 5 == 1 and request.headers.get("If-Modified-Since") == last_modified:
            return web.Response(status=304)
        headers = {}
        if n % 2 == 0:
            headers["ETag"] = etag
        if n % 5 == 1:
            headers["Last-Modified"] = last_modified
        return web.Response(body=bodies[n], headers=headers, content_type="application/rss+xml")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        print(f"PORT {runner.addresses[0][1]}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(main())


# -- measuring --------------------------------------------------------------------------------


class PeakRss:
    """Samples this process's resident memory every 20 ms while active."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.peak = self.before = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self.before = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


async def baseline_fetch(urls: list[str]) -> tuple[float, list[bytes], int]:
    """Plain GETs, CONCURRENCY at a time, 20 s timeout: the floor of a poll cycle."""
    slots = asyncio.Semaphore(CONCURRENCY)
    bodies: list[bytes] = []
    failures = 0

    async def get(client: httpx.AsyncClient, url: str) -> None:
        nonlocal failures
        async with slots:
            try:
                response = await client.get(url)
            except httpx.HTTPError:
                failures += 1
                return
            if response.status_code == 200:
                bodies.append(response.content)
            else:
                failures += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=httpx.Timeout(20.0)) as client:
        await asyncio.gather(*(get(client, url) for url in urls))
    return time.perf_counter() - started, bodies, failures


@dataclass(frozen=True, slots=True)
class Cycle:
    wall: float
    cpu: float  # seconds of CPU the polling process used
    peak_rss: int
    rss_before: int
    reports: list[Any]

    def line(self, name: str, baseline: float) -> str:
        growth = mib(self.peak_rss - self.rss_before)
        return (
            f"{name}: {self.wall:.1f} s = {self.wall / baseline:.1f}x the fetch baseline "
            f"(CPU {self.cpu:.0f} s); peak RSS {mib(self.peak_rss)} (+{growth}); "
            f"{describe(self.reports)}"
        )


async def poll_cycle(runtime: Runtime) -> Cycle:
    """Make every feed due, then FeedService.poll_due() (as the worker calls it) until none is."""
    async with runtime.sessions.begin() as session:
        await session.execute(
            update(Feed).values(next_poll_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    process = psutil.Process()
    reports: list[Any] = []
    cpu = sum(process.cpu_times()[:2])
    with PeakRss() as rss:
        started = time.perf_counter()
        while batch := await runtime.services.feeds.poll_due():
            reports.extend(batch)
        wall = time.perf_counter() - started
    return Cycle(wall, sum(process.cpu_times()[:2]) - cpu, rss.peak, rss.before, reports)


def describe(reports: list[Any]) -> str:
    statuses = Counter(r.status for r in reports)
    added = sum(r.added for r in reports)
    skipped = sum(r.skipped for r in reports)
    updated = sum(r.updated for r in reports)
    parts = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    return f"{parts}; articles stored {added:,}, updated {updated:,}, skipped {skipped:,}"


async def run(args: argparse.Namespace, workdir: Path, port: int) -> None:
    urls = [f"http://127.0.0.1:{port}/feed/{n}.xml" for n in range(args.feeds)]
    kinds = Counter(feed_kind(n) for n in range(args.feeds))
    print(f"{args.feeds:,} feeds on loopback: {dict(kinds)}")
    db = kit.Database(workdir, args.database)
    await db.create()
    settings = Settings(
        database_url=db.url,
        search_index_dir=workdir / "index",
        feed_allowed_hosts=frozenset({"127.0.0.1"}),
    )
    runtime = await Runtime.open(settings)
    try:
        idle = psutil.Process().memory_info().rss
        print(f"poller process RSS before polling: {mib(idle)} ({db.kind})")
        for url in urls:
            added = await runtime.services.feeds.add(url)
            if added.feed is None:
                raise SystemExit(f"{url} refused: {added.refusal}")

        with PeakRss() as rss:
            fetch_wall, bodies, failed = await baseline_fetch(urls)
        fetch_peak = rss.peak
        started = time.perf_counter()
        for body in bodies:
            parse_feed(body, base_url=urls[0], now=datetime.now(UTC))
        parse_wall = time.perf_counter() - started
        print(
            f"baseline, plain httpx GETs ({CONCURRENCY} at a time): {fetch_wall:.1f} s, "
            f"{len(bodies):,} bodies ({sum(map(len, bodies)) / 2**20:.0f} MiB), {failed} "
            f"failed, peak RSS {mib(fetch_peak)}; parsing those bodies alone: {parse_wall:.1f} s"
        )
        del bodies

        first = await poll_cycle(runtime)
        print(first.line("cycle 1, first poll (all entries stored, silently)", fetch_wall))
        second = await poll_cycle(runtime)
        print(second.line("cycle 2, conditional GET (nothing new)", fetch_wall))
        errors = Counter((r.error or "")[:40] for r in first.reports if r.status == "error")
        lenient = sum(1 for r in first.reports if r.status == "ok" and r.problems)
        print(f"errors in cycle 1: {dict(errors)}; stored with problems reported: {lenient}")
        started = time.perf_counter()
        indexed = await runtime.follower.catch_up()
        print(
            f"afterwards the search index takes the new articles in "
            f"{time.perf_counter() - started:.1f} s ({indexed.applied:,} changes); RSS now "
            f"{mib(psutil.Process().memory_info().rss)}"
        )
    finally:
        await runtime.close()
        await db.drop()


async def main_async(args: argparse.Namespace, port: int) -> None:
    print(f"machine: {kit.machine()}")
    with kit.workdir() as workdir:
        await run(args, workdir, port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=FEEDS)
    parser.add_argument("--database", help="a PostgreSQL server URL (a fresh database is made)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.feeds)
        return
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.feeds", "--serve", "--feeds", str(args.feeds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=kit.ROOT,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    try:
        line = server.stdout.readline()
        if not line.startswith("PORT "):
            raise SystemExit(f"the feed server did not start: {line!r}")
        asyncio.run(main_async(args, int(line.split()[1])))
    finally:
        server.stdin.close()
        server.wait(60)


if __name__ == "__main__":
    main()
