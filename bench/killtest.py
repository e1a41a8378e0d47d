"""Crash safety: SIGKILL ``newsbot worker`` at random moments of fan-outs, then SIGTERM.

Usage: python -m bench.killtest [--latency-ms 0 100 250] [--rounds 20] [--baseline-rounds 3]
           [--seed 1] [--database postgresql+asyncpg://...] [--paid 1000 --max-in-flight 64]

One database and one Bot API stand-in (served over HTTP, Telegram's limits enforced, every
call held ``--latency-ms``: half before the stand-in counts it, half before it answers) for
the whole run; 150 chats (70% private, 30% groups), 60% subscribed to everything and the
rest to keywords, through SubscriptionService. Each round stores three new articles
(IngestService), starts the worker, SIGKILLs it at a random moment (mostly after a random
number of sends, a few times during start-up and matching), counts the alerts the killed
worker had recorded as "sending" (in flight), starts it again at once and lets it finish.
Expected alerts are computed in the bench process from the subscriptions and checked
against the outbox; delivered alerts are what the stand-in accepted. Lost = expected but
never delivered (target 0); repeated = a chat got the same article twice (target: at most
the sends in flight at that kill). Limit violations are counted over every accepted send,
across the restarts. Per latency: an uninterrupted round, the kills, a SIGTERM round (the
messages in flight finish, the worker exits 0, nothing it sent is left unrecorded), and
as the baseline in the same run ``--baseline-rounds`` kills of the worker with
ALERT_MAX_IN_FLIGHT=1 (one send in flight, as the sender was before).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import alertkit as kit
from services.ingest import IngestService
from services.parsing import RawArticle
from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer

CHATS = 150
ARTICLES_PER_ROUND = 3
EARLY_KILL_SHARE = 0.15  # rounds killed during start-up / matching rather than mid-sending
ROUND_TIMEOUT = 300.0
BASELINE = "one in flight"  # the sender as it was: ALERT_MAX_IN_FLIGHT=1


@dataclass(frozen=True, slots=True)
class RoundResult:
    expected: int
    sent_before_kill: int  # what the stand-in had accepted of this round when the kill came
    lost: int
    duplicated: int
    outbox_mismatch: int  # expected pairs the matcher did not queue, or queued and not sent
    restart_to_first_send: float | None
    rate_limited: int
    wall: float
    early: bool = False  # killed during start-up or matching, before this round's sends
    in_flight_at_kill: int = 0  # alerts the killed worker had recorded as "sending"
    # Repeated alerts that were NOT "sending" at the kill: each would be a bug.
    repeated_not_in_flight: int = 0
    # Of the "sending" alerts, how many had reached the stand-in when the kill came.
    arrived_in_flight: int = 0
    # Of those, how many the stand-in had answered before the kill (the answer was back with
    # the worker, which had not committed "sent" yet); the rest were on their way back.
    answered_in_flight: int = 0


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.rng = random.Random(args.seed)
        self.world = kit.World.build()
        self.subscribers = kit.make_subscribers(
            self.world, CHATS, seed=args.seed + 1, everything_share=0.6
        )
        self.db = kit.Database(workdir, args.database)
        # --paid R: paid broadcasts at R a second, against a stand-in allowing R.
        self.per_second = args.paid or 30
        self.api: FakeBotApi = kit.stand_in(per_second=self.per_second)
        self.log = kit.DeliveryLog(self.api)
        self.env: dict[str, str] = {}
        self.server_url = ""

    def worker(self) -> kit.Worker:
        return kit.Worker(self.env, self.workdir / "worker.log")

    async def store(self, articles: list[dict[str, Any]]) -> None:
        ingest = IngestService(self.sessions, clock=lambda: datetime.now(UTC))
        items = [
            (
                RawArticle(
                    title=a["title"],
                    body=a["body"],
                    url=a["url"],
                    external_id=a["id"],
                    source=a["source"],
                ),
                a["id"],
            )
            for a in articles
        ]
        report = await ingest.ingest(items)
        assert report.added == len(articles), report

    def round_deliveries(self, prefix: str) -> list[kit.Delivery]:
        self.log.update()
        return [d for d in self.log.all if d.ok and d.article.startswith(prefix)]

    async def outbox(self, prefix: str) -> dict[tuple[int, str], str]:
        found = await kit.rows(
            self.sessions,
            "SELECT o.chat_id, a.external_id, o.status FROM outbox o JOIN articles a"
            f" ON a.id = o.article_id WHERE a.external_id LIKE '{prefix}%'",
        )
        return {(int(chat), public_id): status for chat, public_id, status in found}

    async def finished(self, prefix: str, expected: int) -> bool:
        rows = await self.outbox(prefix)
        return len(rows) >= expected and all(s not in ("pending", "sending") for s in rows.values())

    async def run_round(self, number: int, mode: str) -> RoundResult:
        """mode: "kill" (SIGKILL and restart), "none" (baseline), "term" (SIGTERM, restart)."""
        prefix = f"r{number:02d}-"
        articles = kit.make_articles(
            self.world, ARTICLES_PER_ROUND, seed=1000 + number, prefix=prefix.rstrip("-")
        )
        expected = kit.expected_recipients(self.subscribers, articles)
        limited_before = self.api.rate_limited
        await self.store(articles)
        started = time.monotonic()
        worker = self.worker()
        worker.start()
        sent_before = 0
        restart_first: float | None = None
        early = False
        in_flight: set[tuple[int, str]] = set()
        arrived: set[tuple[int, str]] = set()
        answered: set[tuple[int, str]] = set()
        killed_at = restarted = 0.0
        if mode != "none":
            early = mode == "kill" and self.rng.random() < EARLY_KILL_SHARE
            target = self.rng.randint(1, max(1, len(expected) - 1))
            if early:
                await asyncio.sleep(self.rng.uniform(0.3, 2.5))
            else:
                await kit.wait_until(
                    lambda: len(self.round_deliveries(prefix)) >= target, ROUND_TIMEOUT, 0.005
                )
                await asyncio.sleep(self.rng.uniform(0, 0.04))  # sometimes mid-request
            worker.signal(signal.SIGKILL if mode == "kill" else signal.SIGTERM)
            signalled = killed_at = time.time()
            code = worker.wait(60)
            exited = time.time()
            await asyncio.sleep(self.api.latency_for("sendMessage"))  # requests on the way land
            before_restart = self.round_deliveries(prefix)
            sent_before = len(before_restart)
            in_flight = {k for k, s in (await self.outbox(prefix)).items() if s == "sending"}
            arrived = {(d.chat_id, d.article) for d in before_restart} & in_flight
            back = self.api.latency_for("sendMessage") / 2  # the stand-in's way back
            answered = {
                (d.chat_id, d.article) for d in before_restart if d.at + back <= killed_at
            } & in_flight
            if mode == "term":
                await self.check_clean_stop(prefix, code, signalled, exited)
            worker = self.worker()
            worker.start()
            restarted = time.time()
        ok = await kit.wait_until(lambda: self.finished(prefix, len(expected)), ROUND_TIMEOUT)
        if not ok:
            print(f"  round {number}: not finished after {ROUND_TIMEOUT:.0f} s")
        code = worker.stop()
        if code != 0:
            print(f"  round {number}: worker exited {code} on SIGTERM")
        wall = time.monotonic() - started
        delivered = self.round_deliveries(prefix)
        if mode != "none":
            after = [d.at for d in delivered if d.at >= restarted]
            restart_first = min(after) - restarted if after else None
        counts = Counter((d.chat_id, d.article) for d in delivered)
        repeated = {pair for pair, n in counts.items() if n > 1}
        outbox = await self.outbox(prefix)
        if mode == "kill":
            self.explain_429s(prefix, killed_at, restarted, in_flight)
        mismatch = len(expected ^ set(outbox)) + sum(1 for s in outbox.values() if s != "sent")
        return RoundResult(
            len(expected),
            sent_before,
            len(expected - set(counts)),
            sum(n - 1 for n in counts.values()),
            mismatch,
            restart_first,
            self.api.rate_limited - limited_before,
            wall,
            early,
            len(in_flight),
            len(repeated - in_flight),
            len(arrived),
            len(answered),
        )

    def explain_429s(
        self, prefix: str, killed: float, restarted: float, in_flight: set[tuple[int, str]]
    ) -> None:
        """Each 429 of a killed round: when it came, and what its chat had had before."""
        self.log.update()
        chats_in_flight = {chat for chat, _ in in_flight}
        for refused in (d for d in self.log.all if d.status == 429 and d.at >= killed - 120):
            if not refused.article.startswith(prefix):
                continue
            ok = [d for d in self.log.all if d.ok and d.chat_id == refused.chat_id]
            earlier = [d.at - refused.at for d in ok if refused.at - 61 < d.at <= refused.at]
            busy = sum(1 for d in self.log.all if d.ok and refused.at - 1 < d.at <= refused.at)
            print(
                f"  429 for chat {refused.chat_id} ({refused.article}) "
                f"{refused.at - killed:+.2f} s from the kill, {refused.at - restarted:+.2f} s "
                f"from the restart; chat in flight at the kill: "
                f"{refused.chat_id in chats_in_flight}; its accepted sends in the 61 s before: "
                f"{len(earlier)} at {', '.join(f'{t:+.2f}' for t in earlier[-4:])}; "
                f"{busy} accepted overall in the second before"
            )

    async def check_clean_stop(
        self, prefix: str, code: int, signalled: float, exited: float
    ) -> None:
        delivered = self.round_deliveries(prefix)
        after_signal = [d for d in delivered if d.at > signalled]
        outbox = await self.outbox(prefix)
        unrecorded = [d for d in delivered if outbox.get((d.chat_id, d.article)) != "sent"]
        claimed = await kit.scalar(
            self.sessions, "SELECT count(*) FROM outbox WHERE claimed_by IS NOT NULL"
        )
        print(
            f"SIGTERM: exit code {code} after {exited - signalled:.2f} s; "
            f"{len(after_signal)} message(s) reached the stand-in after the signal (the one in "
            f"flight may); sent but not recorded as sent: {len(unrecorded)}; claims left: "
            f"{claimed} (clean stop: "
            f"{'yes' if code == 0 and not unrecorded and not claimed else 'NO'})"
        )

    async def run(self) -> None:
        await self.db.create()
        self.sessions = self.db.sessions()
        try:
            started = time.perf_counter()
            await kit.subscribe_all(self.sessions, self.subscribers)
            print(
                f"{CHATS} chats subscribed via SubscriptionService in "
                f"{time.perf_counter() - started:.1f} s ({self.db.kind})"
            )
            with FakeBotApiServer(self.api) as server:
                self.server_url = server.base_url
                self.env = kit.worker_env(self.db.url, server.base_url, self.workdir)
                await self.warm_up()
                await self.all_phases()
        finally:
            await self.sessions.kw["bind"].dispose()
            await self.db.drop()

    async def warm_up(self) -> None:
        """A first start places the matcher's cursor (a new installation alerts from then on)."""
        worker = self.worker()
        worker.start()
        if not await kit.wait_until(
            lambda: kit.scalar(self.sessions, "SELECT count(*) FROM cursors"), 120
        ):
            raise SystemExit(f"the worker did not start; see {self.workdir / 'worker.log'}")
        worker.stop()

    async def all_phases(self) -> None:
        summaries = []
        number = 0
        for latency in self.args.latency_ms:
            self.api.set_latency(latency / 1000)
            for mode in self.args.modes:
                baseline = mode == BASELINE
                settings = {"ALERT_MAX_IN_FLIGHT": "1"} if baseline else {}
                if self.args.paid:
                    settings |= {
                        "ALERT_PAID_BROADCAST": "true",
                        "ALERT_RATE_PER_SECOND": str(self.args.paid),
                    }
                if self.args.max_in_flight and not baseline:
                    settings["ALERT_MAX_IN_FLIGHT"] = str(self.args.max_in_flight)
                self.env = kit.worker_env(self.db.url, self.server_url, self.workdir, **settings)
                kills = self.args.baseline_rounds if baseline else self.args.rounds
                print(f"\n-- {latency} ms per Bot API call, {mode}: {kills} kills --")
                summary, number = await self.rounds(number, kills, latency, mode)
                summaries.append(summary)
        print(
            "\n| latency | sender | kills | alerts | lost | repeated | in flight at kill "
            "(max) | repeated <= in flight | limit violations | 429s | restart -> first send |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for line in summaries:
            print(line)

    async def rounds(self, number: int, kills: int, latency: int, mode: str) -> tuple[str, int]:
        prefixes = []
        if mode != BASELINE:
            baseline = await self.run_round(number, "none")
            prefixes.append(f"r{number:02d}-")
            number += 1
            print(
                f"no-kill round: {baseline.expected} alerts in {baseline.wall:.1f} s, "
                f"lost {baseline.lost}, duplicated {baseline.duplicated}, "
                f"429s {baseline.rate_limited}"
            )
        results = []
        for _ in range(kills):
            result = await self.run_round(number, "kill")
            prefixes.append(f"r{number:02d}-")
            number += 1
            results.append(result)
            restart = (
                f"{result.restart_to_first_send:.2f} s"
                if result.restart_to_first_send is not None
                else "-"
            )
            when = "early, " if result.early else ""
            print(
                f"kill {len(results):2d}: {when}after {result.sent_before_kill:3d}/"
                f"{result.expected} sends, {result.in_flight_at_kill} in flight "
                f"({result.arrived_in_flight} of them arrived, {result.answered_in_flight} "
                f"answered); lost {result.lost}, repeated "
                f"{result.duplicated} ({result.repeated_not_in_flight} not in flight), "
                "outbox mismatch "
                f"{result.outbox_mismatch}, restart->first send {restart}, "
                f"429s {result.rate_limited}, {result.wall:.1f} s"
            )
        if mode != BASELINE and self.args.term:
            term = await self.run_round(number, "term")
            prefixes.append(f"r{number:02d}-")
            number += 1
            print(
                f"SIGTERM round then restart: lost {term.lost}, duplicated {term.duplicated}, "
                f"outbox mismatch {term.outbox_mismatch}"
            )
        self.log.update()
        sends = [d for d in self.log.all if d.article.split("-")[0] + "-" in prefixes]
        broken = kit.violations(sends, self.per_second)
        for line in kit.explain_rate_limited(sends):
            print(line)
        lost = sum(r.lost for r in results)
        repeated = sum(r.duplicated for r in results)
        in_flight = [r.in_flight_at_kill for r in results]
        within = all(
            r.duplicated <= r.in_flight_at_kill and not r.repeated_not_in_flight for r in results
        )
        restarts = [r.restart_to_first_send for r in results if r.restart_to_first_send]
        total = sum(r.expected for r in results)
        print(
            f"{len(results)} kills over {total:,} alerts: lost {lost}, repeated {repeated} "
            f"(each kill repeats at most what was in flight: {'yes' if within else 'NO'}); "
            f"limits: {broken.describe()}; 429s {sum(r.rate_limited for r in results)}"
        )
        restart = f"median {statistics.median(restarts):.2f} s" if restarts else "-"
        line = (
            f"| {latency} ms | {mode} | {len(results)} | {total:,} | {lost} | {repeated} "
            f"| {sum(in_flight)} ({max(in_flight, default=0)}) | {'yes' if within else 'NO'} "
            f"| {broken.total()} | {sum(r.rate_limited for r in results)} | {restart} |"
        )
        return line, number


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="kills per latency")
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0])
    parser.add_argument("--modes", nargs="+", default=["newsbot", BASELINE])
    parser.add_argument(
        "--baseline-rounds", type=int, default=3, help=f"kills per latency, '{BASELINE}'"
    )
    parser.add_argument("--no-term", dest="term", action="store_false", help="skip SIGTERM")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--paid", type=int, default=0, help="paid broadcasts at this rate (stand-in allows it)"
    )
    parser.add_argument("--max-in-flight", type=int, default=0, help="ALERT_MAX_IN_FLIGHT")
    parser.add_argument("--database", help="a PostgreSQL server URL (a fresh database is made)")
    args = parser.parse_args()
    print(f"machine: {kit.machine()}")
    with kit.workdir() as workdir:
        await Bench(args, workdir).run()


if __name__ == "__main__":
    asyncio.run(main())
