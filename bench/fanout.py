"""Alert fan-out: matching cost per article, then a real ``newsbot worker`` delivering.

Usage: python -m bench.fanout [--only matching|fanout] [--chats N] [--articles N]
           [--latency-ms 0 100 250] [--baseline-seconds 60] [--paid 1000 --everything-share 1]
           [--database postgresql+asyncpg://postgres@127.0.0.1:5432/test]

1. Matching, in-process: 10,000 keyword subscriptions (made through SubscriptionService),
   100 synthetic articles. Per article: SubscriptionIndex.recipients, and AlertMatcher.run_once
   end to end (events, articles, chats, outbox insert, commit). Baseline in the same run: a
   naive matcher looping over every subscription with rapidfuzz per keyword.
2. Fan-out: N chats (70% private, 30% groups; about 0.3% subscribed to everything, the rest
   to 1-3 keywords) through SubscriptionService. For each ``--latency-ms`` (the Bot API
   stand-in, served over HTTP with Telegram's limits enforced, holds every call that long:
   half before it counts the message, half before it answers), ``newsbot worker`` runs as a
   child process and a new set of articles is stored by ``newsbot ingest`` run as another
   process. Reported per run: the sustained send rate over the first 90% of the alerts (the
   tail is bound by per-chat limits of the few chats still owed many alerts), 429s, limit
   violations seen by the stand-in (any second over 30, a chat twice within 1 s, a group over
   20 in 60 s), lost and repeated alerts, the most sends in flight. Baseline in the same run,
   at each latency: the same worker with ALERT_MAX_IN_FLIGHT=1 (one send in flight, as the
   sender was before), for ``--baseline-seconds``. ``--paid R``: paid broadcasts at R a
   second against a stand-in allowing R. ``--naive N``: also a plain PTB loop of N sends.

A fresh SQLite file by default; with --database, fresh databases on that PostgreSQL server
(created and dropped by the bench).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import text

from bench import alertkit as kit
from services.alerts.keywords import parse_keywords
from services.alerts.matcher import AlertMatcher
from services.alerts.matching import SubscriptionIndex, SubscriptionRule
from services.ingest import IngestService
from services.parsing import RawArticle
from storage.text import tokens
from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer

CHATS = 10_000
ARTICLES = 100
EVERYTHING_SHARE = 0.003
RATE_WINDOW = 0.9  # the sustained rate is measured over this share of the alerts
BASELINE = "one in flight"  # the sender as it was: ALERT_MAX_IN_FLIGHT=1
TIME_LIMIT = 13 * 60  # seconds the fan-out may take before the bench gives up on it


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:.2f} ms, p95 {pct(values, 0.95) * 1000:.2f} ms"
    )


# -- 1. matching --------------------------------------------------------------------------


def naive_recipients(subscribers: list[kit.Subscriber], title: str, body: str) -> set[int]:
    """Every subscription, every keyword, fuzzy-compared with the article's words."""
    words = list(set(tokens(f"{title}\n{body}")))
    found = set()
    for subscriber in subscribers:
        keywords = parse_keywords(subscriber.query)

        def has(word: str) -> bool:
            return process.extractOne(word, words, scorer=fuzz.ratio, score_cutoff=85) is not None

        if keywords.include and not any(has(w) for w in keywords.include):
            continue
        if any(has(w) for w in keywords.exclude):
            continue
        found.add(subscriber.chat.id)
    return found


async def bench_matching(args: argparse.Namespace, workdir: Path, world: kit.World) -> None:
    print(f"\n== Matching: {args.chats:,} keyword subscriptions, {args.articles} new articles ==")
    subscribers = kit.make_subscribers(world, args.chats, seed=21, everything_share=0.0)
    articles = kit.make_articles(world, args.articles, seed=22, prefix="match")
    db = kit.Database(workdir / "matching", args.database)
    (workdir / "matching").mkdir()
    await db.create()
    sessions = db.sessions()
    try:
        started = time.perf_counter()
        await kit.subscribe_all(sessions, subscribers)
        print(
            f"subscribed {args.chats:,} chats via SubscriptionService in "
            f"{time.perf_counter() - started:.1f} s ({db.kind})"
        )

        now = datetime.now(UTC)
        rules = [
            SubscriptionRule(n, s.chat.id, 0, *_words(s.query), now)
            for n, s in enumerate(subscribers)
        ]
        started = time.perf_counter()
        index = SubscriptionIndex(rules)
        build = time.perf_counter() - started
        per_article: list[float] = []
        matched: list[int] = []
        for article in articles:
            started = time.perf_counter()
            found = index.recipients(article["title"], article["body"], now)
            per_article.append(time.perf_counter() - started)
            matched.append(len(found))
        print(
            f"SubscriptionIndex: built in {build * 1000:.0f} ms; recipients() per article "
            f"{ms(per_article)}; {statistics.mean(matched):.0f} chats matched per article"
        )

        matcher = AlertMatcher(sessions, clock=lambda: datetime.now(UTC))
        ingest = IngestService(sessions, clock=lambda: datetime.now(UTC))
        await matcher.run_once()  # places the cursor
        run_once: list[float] = []
        matched_rows: list[int] = []
        for article in articles:
            raw = RawArticle(
                title=article["title"],
                body=article["body"],
                url=article["url"],
                external_id=article["id"],
                source=article["source"],
            )
            await ingest.ingest([(raw, article["id"])])
            started = time.perf_counter()
            queued = await matcher.run_once()
            run_once.append(time.perf_counter() - started)
            matched_rows.append(queued)
        warm = run_once[1:]
        print(
            f"AlertMatcher.run_once per article (one article per run, {db.kind}): first "
            f"(loads the subscriptions) {run_once[0] * 1000:.0f} ms, then {ms(warm)}; "
            f"{statistics.mean(matched_rows):.0f} alerts queued per article"
        )

        sample = articles[:10]
        naive: list[float] = []
        agree = 0
        for article in sample:
            started = time.perf_counter()
            found_naive = naive_recipients(subscribers, article["title"], article["body"])
            naive.append(time.perf_counter() - started)
            exact = {r.chat_id for r in index.recipients(article["title"], article["body"], now)}
            agree += len(found_naive & exact) / max(1, len(found_naive | exact))
        print(
            f"baseline, naive loop over every subscription with rapidfuzz "
            f"({len(sample)} articles): {ms(naive)}"
        )
        speedup = statistics.median(naive) / statistics.median(per_article)
        speedup_e2e = statistics.median(naive) / statistics.median(warm)
        print(
            f"ratio: SubscriptionIndex {speedup:,.0f}x faster than the baseline; "
            f"run_once end to end {speedup_e2e:,.0f}x; recipient sets agree "
            f"{agree / len(sample):.0%} (Jaccard; the baseline also takes fuzzy look-alikes)"
        )
        target = statistics.median(warm) * 1000
        print(
            f"target ≤ 20 ms median per article: {'met' if target <= 20 else 'MISSED'} "
            f"({target:.2f} ms end to end)"
        )
    finally:
        await sessions.kw["bind"].dispose()
        await db.drop()


def _words(query: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    keywords = parse_keywords(query)
    return keywords.include, keywords.exclude


# -- 2. fan-out ---------------------------------------------------------------------------


@dataclass
class FanoutRun:
    latency_ms: int
    mode: str  # "newsbot" or the baseline "one in flight"
    expected: int
    delivered: int
    lost: int
    repeated: int
    rate: float
    rate_limited: int
    violations: kit.Violations
    peak_in_flight: str


async def bench_fanout(args: argparse.Namespace, workdir: Path, world: kit.World) -> None:
    print(
        f"\n== Fan-out: {args.chats:,} chats, {args.articles} articles per run, newsbot worker "
        f"over HTTP, Bot API latency {', '.join(f'{n} ms' for n in args.latency_ms)} =="
    )
    subscribers = kit.make_subscribers(
        world, args.chats, seed=31, everything_share=args.everything_share
    )
    groups = sum(1 for s in subscribers if s.chat.id < 0)
    everything = sum(1 for s in subscribers if not s.query)
    print(
        f"{args.chats - groups:,} private chats, {groups:,} groups; {everything} subscribed to "
        f"everything, {args.chats - everything:,} to keywords"
    )
    db = kit.Database(workdir, args.database)
    await db.create()
    sessions = db.sessions()
    runs: list[FanoutRun] = []
    try:
        started = time.perf_counter()
        await kit.subscribe_all(sessions, subscribers)
        print(
            f"subscribed via SubscriptionService in {time.perf_counter() - started:.1f} s "
            f"({db.kind})"
        )
        plan = [(latency, mode) for latency in args.latency_ms for mode in args.modes]
        for number, (latency, mode) in enumerate(plan):
            articles = kit.make_articles(
                world, args.articles, seed=100 + number, prefix=f"fan{number}"
            )
            expected = kit.expected_recipients(subscribers, articles)
            runs.append(
                await _one_run(
                    args, workdir, db, sessions, number, latency, mode, articles, expected
                )
            )
    finally:
        await sessions.kw["bind"].dispose()
        await db.drop()
    _table(runs)
    if args.naive:
        order = [(c, a) for c, a in sorted(expected)][: args.naive]
        await _naive_baseline(order, runs[0].rate)


async def _one_run(
    args: argparse.Namespace,
    workdir: Path,
    db: kit.Database,
    sessions: Any,
    number: int,
    latency: int,
    mode: str,
    articles: list[dict[str, Any]],
    expected: set[tuple[int, str]],
) -> FanoutRun:
    baseline = mode == BASELINE
    print(f"\n-- {latency} ms per Bot API call, {mode}: {len(expected):,} alerts expected --")
    settings = {"ALERT_MAX_IN_FLIGHT": "1"} if baseline else {}
    if args.max_in_flight and not baseline:
        settings["ALERT_MAX_IN_FLIGHT"] = str(args.max_in_flight)
    if args.paid:
        settings |= {"ALERT_PAID_BROADCAST": "true", "ALERT_RATE_PER_SECOND": str(args.paid)}
    api = kit.stand_in(latency / 1000, per_second=args.paid or 30)
    log_path = workdir / f"worker{number}.log"
    with FakeBotApiServer(api) as server:
        env = kit.worker_env(db.url, server.base_url, workdir, **settings)
        worker = kit.Worker(env, log_path)
        worker.start()
        ready = await kit.wait_until(
            lambda: kit.scalar(sessions, "SELECT count(*) FROM cursors"), 120
        )
        if not ready:
            raise SystemExit(f"the worker did not start; see {log_path}")
        if number == 0:
            print(f"worker leading after {time.time() - worker.started_at:.1f} s")
        stand_in_cpu = _own_cpu_seconds()
        # Start-up done (language models, index): the cursor is placed after them. Only on a
        # fresh database: later runs find the cursor at once, before the worker has started.
        started_cpu = _cpu_seconds(worker) if number == 0 else None
        try:
            limit = args.baseline_seconds if baseline else TIME_LIMIT
            fanout = await _run_fanout(
                api, sessions, db.url, workdir, articles, expected, f"fan{number}-", limit
            )
            probe_latencies: list[float] = []
            if not baseline and latency == 0 and args.probes:
                probes = kit.make_articles(kit.World.build(), 3, seed=33, prefix=f"probe{number}")
                probe_latencies = await _run_probes(api, sessions, db.url, workdir, probes)
        finally:
            cpu = _cpu_seconds(worker)
            stand_in_cpu = _own_cpu_seconds() - stand_in_cpu
            code = worker.stop()
    # What a capped baseline left behind must not go out during the next run.
    async with sessions.begin() as session:
        await session.execute(
            text("UPDATE outbox SET status = 'dropped' WHERE status IN ('pending', 'sending')")
        )
    run = _report(
        api,
        fanout,
        probe_latencies,
        expected,
        code,
        latency,
        mode,
        f"fan{number}-",
        baseline,
        args.paid or 30,
    )
    if cpu is not None and run.delivered:
        print(
            f"worker CPU: {cpu:.1f} s for {run.delivered:,} sends = "
            f"{cpu / run.delivered * 1000:.1f} ms a send (matching and start-up included)"
        )
        if started_cpu is not None:
            sending = cpu - started_cpu
            print(
                f"worker CPU from the articles' arrival on (matching included, start-up not): "
                f"{sending:.1f} s = {sending / run.delivered * 1000:.2f} ms a send"
            )
    if run.delivered:
        print(
            f"bench process CPU (the Bot API stand-in, its HTTP server and the checks): "
            f"{stand_in_cpu:.1f} s = {stand_in_cpu / run.delivered * 1000:.1f} ms a send"
        )
    commits = re.findall(r"(\d+) sent recorded in (\d+) commits", log_path.read_text())
    if commits and int(commits[-1][1]):
        items, writes = (int(n) for n in commits[-1])
        print(f"sent alerts recorded in {writes:,} commits ({items / writes:.1f} a commit)")
    peaks = re.findall(r"at most (\d+) of (\d+)", log_path.read_text(errors="replace"))
    run.peak_in_flight = f"{max(int(p) for p, _ in peaks)} of {peaks[0][1]}" if peaks else "-"
    log = log_path.read_text(errors="replace")
    errors = [line for line in log.splitlines() if "ERROR" in line or "Traceback" in line]
    if errors:
        print(f"worker log has {len(errors)} error lines, first: {errors[0][:200]}")
    return run


def _own_cpu_seconds() -> float:
    import psutil

    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def _cpu_seconds(worker: kit.Worker) -> float | None:
    """CPU time the worker process used so far (user + system)."""
    import psutil

    if worker.process is None or worker.process.poll() is not None:
        return None
    times = psutil.Process(worker.process.pid).cpu_times()
    return float(times.user + times.system)


def _table(runs: list[FanoutRun]) -> None:
    print(
        "\n| latency | sender | alerts | sustained rate | 429s | limit violations "
        "| lost | repeated | in flight (peak) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        baseline = next(
            (r for r in runs if r.latency_ms == run.latency_ms and r.mode == BASELINE), None
        )
        ratio = f" ({run.rate / baseline.rate:.1f}x)" if baseline and run is not baseline else ""
        lost = "-" if run.mode == BASELINE else str(run.lost)
        print(
            f"| {run.latency_ms} ms | {run.mode} | {run.delivered:,} | {run.rate:.2f}/s{ratio} "
            f"| {run.rate_limited} | {run.violations.total()} | {lost} | {run.repeated} "
            f"| {run.peak_in_flight} |"
        )


def _ingest(database_url: str, workdir: Path, records: list[dict[str, Any]], name: str) -> float:
    path = kit.write_jsonl(workdir / name, records)
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", str(path)],
        env=kit.ingest_env(database_url, workdir),
        capture_output=True,
        text=True,
        cwd=kit.ROOT,
        check=False,
    )
    if result.returncode != 0 or f"added {len(records)}" not in result.stdout:
        raise SystemExit(f"newsbot ingest failed: {result.stdout} {result.stderr[-2000:]}")
    return time.time() - started


async def _stored_at(sessions: Any, pattern: str) -> dict[str, float]:
    found = await kit.rows(
        sessions, f"SELECT external_id, stored_at FROM articles WHERE external_id LIKE '{pattern}'"
    )
    return {public_id: _epoch(stored) for public_id, stored in found}


def _epoch(value: Any) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


async def _run_fanout(
    api: FakeBotApi,
    sessions: Any,
    database_url: str,
    workdir: Path,
    articles: list[dict[str, Any]],
    expected: set[tuple[int, str]],
    prefix: str,
    time_limit: float,
) -> dict[str, Any]:
    took = _ingest(database_url, workdir, articles, f"{prefix}articles.jsonl")
    print(f"newsbot ingest stored {len(articles)} articles in {took:.1f} s (separate process)")
    started = time.monotonic()
    last_report = started
    mine = (
        f"FROM outbox o JOIN articles a ON a.id = o.article_id WHERE a.external_id LIKE '{prefix}%'"
    )
    while time.monotonic() - started < time_limit:
        await asyncio.sleep(1.0)
        queued = await kit.scalar(sessions, f"SELECT count(*) {mine}")
        pending = await kit.scalar(
            sessions, f"SELECT count(*) {mine} AND o.status IN ('pending', 'sending')"
        )
        if queued >= len(expected) and pending == 0:
            break
        if time.monotonic() - last_report > 60:
            last_report = time.monotonic()
            print(
                f"  {time.monotonic() - started:.0f} s: {kit.sent_count(api):,} sent, "
                f"{pending:,} pending"
            )
    else:
        print(f"stopped after {time_limit:.0f} s")
    stored = await _stored_at(sessions, f"{prefix}%")
    queued_at = await kit.rows(
        sessions,
        "SELECT a.external_id, min(o.created_at) FROM outbox o JOIN articles a"
        f" ON a.id = o.article_id WHERE a.external_id LIKE '{prefix}%' GROUP BY a.external_id",
    )
    order = await kit.rows(
        sessions,
        "SELECT o.chat_id, a.external_id FROM outbox o JOIN articles a ON a.id = o.article_id"
        f" WHERE a.external_id LIKE '{prefix}%' ORDER BY o.id",
    )
    statuses = dict(await kit.rows(sessions, f"SELECT o.status, count(*) {mine} GROUP BY o.status"))
    return {
        "stored": stored,
        "queued_at": {public_id: _epoch(at) for public_id, at in queued_at},
        "order": [(int(chat), public_id) for chat, public_id in order],
        "statuses": statuses,
    }


async def _run_probes(
    api: FakeBotApi, sessions: Any, database_url: str, workdir: Path, probes: list[dict[str, Any]]
) -> list[float]:
    """Single articles on an idle queue: how soon the first alert leaves."""
    latencies = []
    for n, probe in enumerate(probes):
        await asyncio.sleep(3.0)  # every chat is past its spacing
        _ingest(database_url, workdir, [probe], f"probe{n}.jsonl")
        if not await kit.wait_until(
            lambda p=probe: any(d.article == p["id"] for d in kit.deliveries(api)), 30
        ):
            print(f"probe {probe['id']} reached nobody within 30 s")
            continue
        stored = (await _stored_at(sessions, probe["id"]))[probe["id"]]
        first = min(d.at for d in kit.deliveries(api) if d.article == probe["id"])
        latencies.append(first - stored)
        await kit.wait_until(lambda: _no_pending(sessions), 120)
    return latencies


async def _no_pending(sessions: Any) -> bool:
    return not await kit.scalar(sessions, "SELECT count(*) FROM outbox WHERE status='pending'")


def _report(
    api: FakeBotApi,
    fanout: dict[str, Any],
    probe_latencies: list[float],
    expected: set[tuple[int, str]],
    exit_code: int,
    latency_ms: int,
    mode: str,
    prefix: str,
    capped: bool,
    per_second: int = 30,
) -> FanoutRun:
    sends = [d for d in kit.deliveries(api) if d.article.startswith(prefix)]
    ok = sorted((d for d in sends if d.ok), key=lambda d: d.at)
    counts = Counter((d.chat_id, d.article) for d in ok)
    delivered = set(counts)
    lost = expected - delivered
    extra = delivered - expected
    repeated = sum(n - 1 for n in counts.values() if n > 1)
    print(
        f"outbox: {fanout['statuses']}; delivered {len(delivered):,} of {len(expected):,} "
        f"expected: lost {len(lost)}{' (capped run)' if capped else ''}, unexpected "
        f"{len(extra)}, repeated {repeated}"
    )
    # A capped run has no tail: its rate is over everything it sent.
    window = len(ok) if capped else max(2, round(RATE_WINDOW * len(ok)))
    span = ok[window - 1].at - ok[0].at
    rate = (window - 1) / span
    overall = (len(ok) - 1) / (ok[-1].at - ok[0].at)
    buckets = Counter(int((d.at - ok[0].at) // 10) for d in ok[:window])
    per10 = [buckets.get(b, 0) / 10 for b in range(int(span // 10))]
    print(
        f"sustained send rate over the first {window:,} alerts: {rate:.2f} msg/s = "
        f"{rate / per_second:.1%} of the stand-in's {per_second}/s; whole run incl. tail "
        f"{overall:.2f} msg/s over "
        f"{ok[-1].at - ok[0].at:.0f} s; 10-s windows min {min(per10, default=0):.1f} median "
        f"{statistics.median(per10) if per10 else 0:.1f}"
    )
    broken = kit.violations(ok, per_second)
    print(f"429s provoked: {api.rate_limited}; limits: {broken.describe()}")
    paid = sum(1 for c in api.calls_to("sendMessage") if c.params.get("allow_paid_broadcast"))
    if paid:
        print(f"sendMessage calls with allow_paid_broadcast=true: {paid:,}")
    for line in kit.explain_rate_limited(sends):
        print(line)
    stored, queued_at = fanout["stored"], fanout["queued_at"]
    first_send: dict[str, float] = {}
    for d in sends:
        first_send[d.article] = min(first_send.get(d.article, d.at), d.at)
    latency = sorted(first_send[a] - stored[a] for a in first_send)
    matching = [queued_at[a] - stored[a] for a in queued_at]
    print(
        f"stored -> queued by the worker's matcher: median {statistics.median(matching):.2f} s,"
        f" max {max(matching):.2f} s; stored -> first send attempt: first article "
        f"{latency[0]:.2f} s"
    )
    if probe_latencies:
        print(
            f"stored -> first send attempt, single articles on an idle queue: "
            f"{', '.join(f'{x:.2f} s' for x in probe_latencies)} (target ≤ 5 s: "
            f"{'met' if max(probe_latencies + latency[:1]) <= 5 else 'MISSED'})"
        )
    print(f"worker exit code after SIGTERM: {exit_code}")
    return FanoutRun(
        latency_ms,
        mode,
        len(expected),
        len(ok),
        len(lost),
        repeated,
        rate,
        api.rate_limited,
        broken,
        "-",
    )


async def _naive_baseline(order: list[tuple[int, str]], worker_rate: float) -> None:
    """A plain PTB loop: the same first alerts, in order, at 30/s, waiting out RetryAfter."""
    from telegram import Bot
    from telegram.error import RetryAfter

    api = kit.stand_in()
    async with FakeBotApiServer(api) as server, Bot(kit.TOKEN, base_url=server.base_url) as bot:
        started = next_at = time.monotonic()
        for chat_id, public_id in order:
            pause = next_at - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            while True:
                try:
                    await bot.send_message(
                        chat_id, f"New article\nID: <code>{public_id}</code>", parse_mode="HTML"
                    )
                    break
                except RetryAfter as error:
                    wait = error.retry_after
                    await asyncio.sleep(wait if isinstance(wait, int) else wait.total_seconds())
            next_at = max(next_at + 1 / 30, time.monotonic())
        elapsed = time.monotonic() - started
    rate = len(order) / elapsed
    print(
        f"baseline, plain PTB loop paced at 30/s over the first {len(order):,} alerts in "
        f"matching order: {rate:.2f} msg/s, {api.rate_limited} 429s; worker/baseline rate "
        f"ratio {worker_rate / rate:.2f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL server URL (a fresh database is made)")
    parser.add_argument("--chats", type=int, default=CHATS)
    parser.add_argument("--articles", type=int, default=ARTICLES)
    parser.add_argument("--naive", type=int, default=0, help="plain PTB loop sends (0: none)")
    parser.add_argument(
        "--latency-ms", type=int, nargs="+", default=[0], help="Bot API latency, one run each"
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["newsbot", BASELINE],
        choices=["newsbot", BASELINE],
        help=f"newsbot (ALERT_MAX_IN_FLIGHT as configured) and/or the '{BASELINE}' baseline",
    )
    parser.add_argument("--max-in-flight", type=int, default=0, help="ALERT_MAX_IN_FLIGHT")
    parser.add_argument(
        "--baseline-seconds", type=float, default=60.0, help="how long a baseline run sends"
    )
    parser.add_argument("--no-probes", dest="probes", action="store_false")
    parser.add_argument("--everything-share", type=float, default=EVERYTHING_SHARE)
    parser.add_argument(
        "--paid",
        type=int,
        default=0,
        help="paid broadcasts at this rate: ALERT_PAID_BROADCAST=true, a stand-in allowing it",
    )
    parser.add_argument("--only", choices=("matching", "fanout"), help="run one part")
    args = parser.parse_args()
    print(f"machine: {kit.machine()}")
    world = kit.World.build()
    with kit.workdir() as workdir:
        if args.only != "fanout":
            await bench_matching(args, workdir, world)
        if args.only != "matching":
            await bench_fanout(args, workdir, world)


if __name__ == "__main__":
    asyncio.run(main())
