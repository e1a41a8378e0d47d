"""Feed polling at scale: 10,000 loopback feeds, today's single leader, one worker, two.

Usage: python -m bench.feeds [--feeds 10000] [--database postgresql+asyncpg://...]
       [--interval 600] [--concurrency 64] [--baseline-rev 6b18794] [--no-baseline]
       [--cold-only] [--parse-processes N] [--only NAME]

A separate process serves generated feeds on 127.0.0.1 (aiohttp) and counts the requests
for each feed: RSS 2.0, Atom and RSS 1.0 with 20-50 entries each, half with full content;
half answer 304 to If-None-Match, a fifth to If-Modified-Since, the rest always send the
whole feed. About 5% are slow (1.5-3 s), 0.5% hang past the 20 s timeout, and 4% are
broken (HTTP 500 or 404, malformed XML, an HTML page): the same mix as issue 3's bench.

Each poller is a real process (bench/feed_poller.py): Runtime.open from the environment,
as ``newsbot worker`` does (FEED_ALLOWED_HOSTS=127.0.0.1 lets loopback past the SSRF
guard), then FeedService.poll_due() until nothing is due, the call a worker's feed loop
makes. Three set-ups, each on a fresh database with the feeds inserted: today's code
(the baseline revision, exported with git archive: the alert leader polls, ten at a
time), one worker of this tree, and two workers of this tree started together. Cycle 1
stores every entry (a cold start); then every tenth feed gets one new entry, every feed
is made due again, and cycle 2 is the steady state (conditional GET; most bodies the
same bytes as before, the changed ones parsed and their one new entry stored). A cycle
is cut at ``--interval`` seconds. Reported: wall time, feeds/s, each poller's CPU and
peak RSS (with its parse pool's processes, if any), and from the server's counts how
many feeds were requested not at all, once, or more than once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import IO, Any

import httpx
from aiohttp import web
from sqlalchemy import insert, text, update

from bench import alertkit as kit
from storage.db import create_engine
from storage.models import Feed

FEEDS = 10_000
INTERVAL = 600.0  # seconds: the default feed interval, the goal's bound on a cycle
CONCURRENCY = 64  # FEED_CONCURRENCY's default
# The last commit before feed polling scaled out: the leader polls, ten feeds at a time.
BASELINE_REV = "6b18794"
POLLER = Path(__file__).with_name("feed_poller.py")


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


def _feed_body(n: int, world: kit.World, now: datetime, fresh: int = 0) -> bytes:
    """Feed n's document; ``fresh`` new entries on top of its usual ones."""
    rng = random.Random(n)
    flavour = ("rss2", "rss2", "rss2", "atom", "atom", "atom", "rss1", "rss2", "rss2", "rss2")[
        n % 10
    ]
    full_content = n % 2 == 0
    records = kit.make_articles(world, rng.randint(20, 50), seed=n, prefix=f"f{n}")
    news = kit.make_articles(world, fresh, seed=-n - 1, prefix=f"f{n}-new")
    base = f"http://127.0.0.1/site{n}"
    items = []
    numbered = [(f"new{k}", r, now + timedelta(minutes=k)) for k, r in enumerate(news)][::-1]
    numbered += [(str(i), r, now - timedelta(hours=i + 1)) for i, r in enumerate(records)]
    for i, record, published in numbered:
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
    last_modified = {n: format_datetime(now, usegmt=True) for n in range(count)}
    versions = dict.fromkeys(range(count), 0)

    polls: Counter[int] = Counter()  # requests per feed since the last /reset

    async def publish(_: web.Request) -> web.StreamResponse:
        """One new entry in every tenth feed (the rest stay as they were)."""
        for n in range(3, count, 10):
            versions[n] += 1
            bodies[n] = _feed_body(n, world, now, fresh=versions[n])
            last_modified[n] = format_datetime(now + timedelta(minutes=versions[n]), usegmt=True)
        return web.Response(text="ok")

    async def stats(_: web.Request) -> web.StreamResponse:
        return web.json_response({str(n): count for n, count in polls.items()})

    async def reset(_: web.Request) -> web.StreamResponse:
        polls.clear()
        return web.Response(text="ok")

    async def handle(request: web.Request) -> web.StreamResponse:
        n = int(request.match_info["n"])
        polls[n] += 1
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
        etag = f'"v{versions[n]}-{n}"'
        if n % 2 == 0 and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        if n % 5 == 1 and request.headers.get("If-Modified-Since") == last_modified[n]:
            return web.Response(status=304)
        headers = {}
        if n % 2 == 0:
            headers["ETag"] = etag
        if n % 5 == 1:
            headers["Last-Modified"] = last_modified[n]
        return web.Response(body=bodies[n], headers=headers, content_type="application/rss+xml")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", handle)
        app.router.add_get("/stats", stats)
        app.router.add_post("/reset", reset)
        app.router.add_post("/publish", publish)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        print(f"PORT {runner.addresses[0][1]}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(main())


# -- the pollers --------------------------------------------------------------------------


class Poller:
    """bench/feed_poller.py as a child process on the given tree."""

    def __init__(self, tree: Path, env: dict[str, str], log: Path) -> None:
        self._log: IO[bytes] = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(POLLER)],
            env={**env, "PYTHONPATH": str(tree)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=tree,
            text=True,
        )

    def expect_ready(self) -> None:
        line = self._readline()
        if line.strip() != "READY":
            raise SystemExit(f"a poller did not start: {line!r} (see its log)")

    def go(self, limit: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"GO {limit}\n")
        self.process.stdin.flush()

    def figures(self) -> dict[str, Any]:
        return dict(json.loads(self._readline()))

    def _readline(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(60)
        self._log.close()


@dataclass(frozen=True, slots=True)
class Phase:
    label: str
    pollers: int  # how many of the set-up's processes take part
    kind: str  # cold (insert the feeds), rest (finish a cold start that was cut), steady


COLD_ONLY = (Phase("cycle 1, cold: every entry new", 1, "cold"),)


def phases(pollers: int, steady: bool) -> tuple[Phase, ...]:
    plan = [
        Phase("cycle 1, cold: every entry new", pollers, "cold"),
        Phase("the rest of the cold start, past the interval", pollers, "rest"),
    ]
    if steady:
        plan.append(Phase("cycle 2, steady: a tenth of the feeds with news", pollers, "steady"))
        if pollers > 1:
            plan.append(Phase("cycle 3, steady, by the first of them alone", 1, "steady"))
    return tuple(plan)


@dataclass(frozen=True, slots=True)
class Setup:
    name: str
    tree: Path
    processes: int
    phases: tuple[Phase, ...]
    parse_processes: int = 0


def mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


async def fresh_database(workdir: Path, server_url: str | None, name: str) -> str:
    if server_url is None:
        return f"sqlite+aiosqlite:///{workdir / (name + '.db')}"
    database = f"newsbot_bench_{name}_{os.getpid()}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{database}"'))
    await admin.dispose()
    return re.sub(r"/[^/]*$", f"/{database}", server_url)


async def drop_database(server_url: str | None, url: str) -> None:
    if server_url is None:
        return
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        name = url.rsplit("/", 1)[1]
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def set_due(url: str, feeds: int | None, port: int) -> None:
    """Insert the feeds (only columns every revision has), or make them all due again."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        if feeds is None:
            await connection.execute(update(Feed).values(next_poll_at=now - timedelta(seconds=1)))
        else:
            await connection.execute(
                insert(Feed),
                [
                    {
                        "url": f"http://127.0.0.1:{port}/feed/{n}.xml",
                        "added_at": now - timedelta(days=1),
                        "next_poll_at": now - timedelta(seconds=1),
                        "interval_seconds": int(INTERVAL),
                        "active": True,
                        "consecutive_errors": 0,
                    }
                    for n in range(feeds)
                ],
            )
    await engine.dispose()


async def run_setup(
    setup: Setup, args: argparse.Namespace, workdir: Path, port: int, client: httpx.AsyncClient
) -> None:
    slug = re.sub(r"\W+", "_", setup.name)
    url = await fresh_database(workdir, args.database, slug)
    pollers: list[Poller] = []
    try:
        for n in range(setup.processes):
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "SEARCH_INDEX_DIR": str(workdir / f"{slug}-index-{n}"),
                "FEED_ALLOWED_HOSTS": "127.0.0.1",
                "FEED_CONCURRENCY": str(args.concurrency),
                "FEED_PARSE_PROCESSES": str(setup.parse_processes),
                "LOG_LEVEL": "WARNING",
            }
            poller = Poller(setup.tree, env, workdir / f"{slug}-{n}.log")
            pollers.append(poller)
            poller.expect_ready()  # one at a time: the first migrates the fresh database
        cut = False
        for phase in setup.phases:
            if phase.kind == "rest" and not cut:
                continue  # the cold start was done within the interval
            if phase.kind == "cold":
                await set_due(url, args.feeds, port)
            elif phase.kind == "steady":
                await client.post("/publish")
                await set_due(url, None, port)
            await client.post("/reset")
            load = os.getloadavg()[0]
            started = time.perf_counter()
            taking_part = pollers[: phase.pollers]
            limit = 86400.0 if phase.kind == "rest" else args.interval
            for poller in taking_part:
                poller.go(limit)
            figures = [await asyncio.to_thread(poller.figures) for poller in taking_part]
            wall = time.perf_counter() - started
            cut = any(f["cut_at_limit"] for f in figures)
            polls = Counter((await client.get("/stats")).json().values())
            report(f"{setup.name}, {phase.label}", wall, figures, polls, args.feeds, load)
    finally:
        for poller in pollers:
            poller.close()
        await drop_database(args.database, url)


def report(
    title: str,
    wall: float,
    figures: list[dict[str, Any]],
    polls: Counter[int],
    feeds: int,
    load: float,
) -> None:
    polled = sum(sum(f["statuses"].values()) for f in figures)
    cut = any(f["cut_at_limit"] for f in figures)
    once = polls.get(1, 0)
    twice = sum(n for times, n in polls.items() if times > 1)
    never = feeds - sum(polls.values())
    within = "cut at the interval" if cut else "all due feeds done"
    print(
        f"{title}: {polled:,} feeds polled in {wall:.0f} s ({within}) = "
        f"{polled / wall:.1f} feeds/s; load average at start {load:.1f}"
    )
    print(
        f"    server counts: {once:,} feeds requested once, {twice} more than once, {never} never"
    )
    for n, f in enumerate(figures, start=1):
        statuses = ", ".join(f"{count} {status}" for status, count in sorted(f["statuses"].items()))
        print(
            f"    process {n}: {statuses}; articles stored {f['stored']:,}; CPU {f['cpu']:.0f} s; "
            f"peak RSS {mib(f['rss_peak'])} (+{mib(f['rss_peak'] - f['rss_before'])})"
        )
        if "cold" in title and n == 1:
            print(f"    errors: {f['errors']}")


def export_tree(repo: Path, rev: str, workdir: Path) -> Path:
    tree = workdir / f"tree-{rev}"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", rev], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


async def run(args: argparse.Namespace, workdir: Path, port: int) -> None:
    kinds = Counter(feed_kind(n) for n in range(args.feeds))
    print(f"{args.feeds:,} feeds on loopback: {dict(kinds)}")
    database = "PostgreSQL" if args.database else "SQLite"
    print(
        f"database: {database}; cycle limit {args.interval:.0f} s;"
        f" FEED_CONCURRENCY {args.concurrency} for this tree; baseline revision {args.baseline_rev}"
    )
    steady = not args.cold_only
    setups = []
    if args.baseline:
        tree = export_tree(args.repo, args.baseline_rev, workdir)
        setups.append(Setup("today (one leader, 10 at a time)", tree, 1, COLD_ONLY))
    setups.append(Setup("one worker", kit.ROOT, 1, phases(1, steady)))
    if args.parse_processes:
        name = f"one worker with {args.parse_processes} parse processes"
        setups.append(Setup(name, kit.ROOT, 1, COLD_ONLY, args.parse_processes))
    setups.append(Setup("two workers", kit.ROOT, 2, phases(2, steady)))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        for setup in setups:
            if args.only and not any(part in setup.name for part in args.only):
                continue
            await run_setup(setup, args, workdir, port, client)


async def main_async(args: argparse.Namespace, port: int) -> None:
    print(f"machine: {kit.machine()}")
    with kit.workdir() as workdir:
        await run(args, workdir, port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=FEEDS)
    parser.add_argument("--database", help="a PostgreSQL server URL (fresh databases are made)")
    parser.add_argument("--interval", type=float, default=INTERVAL, help="cycle limit, seconds")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--cold-only", action="store_true", help="no steady cycles")
    parser.add_argument(
        "--parse-processes", type=int, default=0, help="also: one worker with this pool"
    )
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument(
        "--no-baseline", dest="baseline", action="store_false", help="skip today's code"
    )
    parser.add_argument("--repo", type=Path, default=kit.ROOT, help="where the baseline comes from")
    parser.add_argument(
        "--only", action="append", help="run only the set-ups whose name contains this"
    )
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
