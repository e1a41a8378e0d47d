"""One user floods the bot with searches while others search: who gets answered, how fast.

Usage: python -m bench.flood [--flood 300] [--others 10] [--articles FILE]

``newsbot run`` runs as a child process against the Bot API stand-in served over HTTP
(Telegram's limits not enforced, so every reply the bot attempts is counted). One private
chat sends ``--flood`` searches as fast as one client can push them; meanwhile ``--others``
users each send a search every 1.5 s for 6 s and their latency is measured from the update
being queued to the stand-in receiving the reply. Reported per run: replies to the flooding
chat (total, and the most within any one second), whether its last search was answered,
and the others' p50/p95 latency. The baseline, in the same run: the same bot with the
throttle off (COMMAND_BURST=0), today's main behaviour.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench import alertkit as kit
from tests.helpers.botapi import FakeBotApi
from tests.helpers.botapi_server import FakeBotApiServer

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "articles.jsonl"
FLOODER = 900_001
OTHERS_FROM = 910_001
OTHER_EVERY = 1.5  # seconds between one other user's searches: well inside the throttle
OTHER_FOR = 6.0
WORDS = ("election", "music", "film", "economy", "football", "mobile", "oil", "award")


@dataclass(frozen=True)
class Outcome:
    label: str
    flood_replies: list[float]  # when each reply to the flooding chat arrived
    last_answered: bool
    other_latency: list[float]
    others_unanswered: int
    flood_seconds: float


def start_bot(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, stdout=log, stderr=subprocess.STDOUT
        )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def most_in_one_second(times: list[float]) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_right(ordered, t + 1.0) - i for i, t in enumerate(ordered)), default=0
    )


async def one_run(
    label: str, workdir: Path, database_url: str, burst: str, args: argparse.Namespace
) -> Outcome:
    api = FakeBotApi(token=kit.TOKEN, clock=time.monotonic)
    server = FakeBotApiServer(api)
    server.start_in_thread()
    env = kit.worker_env(database_url, server.base_url, workdir)
    env.update(
        SEARCH_INDEX_DIR=str(workdir / f"index-{label}"),
        COMMAND_BURST=burst,
        LOG_LEVEL="WARNING",
        ALERTS_IN_BOT="false",
    )
    bot = start_bot(env, workdir / f"bot-{label}.log")
    try:
        await api.wait_for_poll(within=120)
        factory = api.updates
        api.push_update(
            factory.message_update("warm up", chat_id=OTHERS_FROM - 1, user_id=OTHERS_FROM - 1)
        )
        await api.wait_for_calls("sendMessage", 1, within=60)

        def replies_to(chat_id: int) -> list[float]:
            return [
                c.at
                for c in api.calls_to("sendMessage")
                if c.params.get("chat_id") == chat_id and c.error_code is None
            ]

        sent_at: dict[int, list[float]] = {}
        last_word = ""

        async def flood() -> None:
            nonlocal last_word
            for n in range(args.flood):
                last_word = f"{WORDS[n % len(WORDS)]} {n}"
                api.push_update(factory.message_update(last_word, chat_id=FLOODER, user_id=FLOODER))
                if n % 25 == 0:
                    await asyncio.sleep(0)  # one client's socket: pushes, barely pausing

        async def other(user: int) -> None:
            times = sent_at.setdefault(user, [])
            started = time.monotonic()
            n = 0
            while time.monotonic() - started < OTHER_FOR:
                times.append(time.monotonic())
                api.push_update(
                    factory.message_update(
                        f"/search {WORDS[(user + n) % len(WORDS)]}", chat_id=user, user_id=user
                    )
                )
                n += 1
                await asyncio.sleep(OTHER_EVERY)

        began = time.monotonic()
        await asyncio.gather(flood(), *(other(OTHERS_FROM + i) for i in range(args.others)))
        expected = sum(len(t) for t in sent_at.values())
        await kit.wait_until(
            lambda: (
                sum(min(len(replies_to(u)), len(t)) for u, t in sent_at.items()) >= expected
                and not api.pending_updates()
            ),
            within=120,
        )
        await asyncio.sleep(2.0)  # a deferred last search comes a second after the flood
        flood_replies = replies_to(FLOODER)
        last_answered = any(
            last_word in str(c.params.get("text", ""))
            for c in api.calls_to("sendMessage")
            if c.params.get("chat_id") == FLOODER
        )
        latency: list[float] = []
        unanswered = 0
        for user, times in sent_at.items():
            answers = replies_to(user)
            unanswered += max(0, len(times) - len(answers))
            latency.extend(a - s for s, a in zip(times, answers, strict=False))
        return Outcome(
            label, flood_replies, last_answered, latency, unanswered, time.monotonic() - began
        )
    finally:
        bot.terminate()
        bot.wait(60)
        server.stop_thread()


def report(outcome: Outcome, flood: int) -> None:
    replies = outcome.flood_replies
    print(
        f"{outcome.label:>9}: flooding chat got {len(replies)} replies to {flood} searches, "
        f"at most {most_in_one_second(replies)} within one second; its last search "
        f"{'answered' if outcome.last_answered else 'NOT answered'}"
    )
    latency = outcome.other_latency
    if latency:
        print(
            f"{'':>9}  other users: {len(latency)} searches, latency p50 "
            f"{pct(latency, 0.5) * 1000:.0f} ms, p95 {pct(latency, 0.95) * 1000:.0f} ms, "
            f"max {max(latency) * 1000:.0f} ms; unanswered {outcome.others_unanswered}"
        )


async def compare(args: argparse.Namespace, workdir: Path, database_url: str) -> None:
    baseline = await one_run("no throttle", workdir, database_url, "0", args)
    throttled = await one_run("throttle", workdir, database_url, "2", args)
    report(baseline, args.flood)
    report(throttled, args.flood)
    base_p95 = pct(baseline.other_latency, 0.95)
    new_p95 = pct(throttled.other_latency, 0.95)
    print(
        f"others' p95 latency: {new_p95 * 1000:.0f} ms vs {base_p95 * 1000:.0f} ms without "
        f"the throttle ({base_p95 / new_p95:.1f}x); replies to the flooding chat in its "
        f"busiest second: {most_in_one_second(throttled.flood_replies)} vs "
        f"{most_in_one_second(baseline.flood_replies)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=300)
    parser.add_argument("--others", type=int, default=10)
    parser.add_argument("--articles", type=Path, default=DATA)
    args = parser.parse_args()
    print(kit.machine())
    with kit.workdir() as workdir:
        database_url = f"sqlite+aiosqlite:///{workdir / 'flood.db'}"
        subprocess.run(
            [sys.executable, "-m", "bot", "ingest", str(args.articles)],
            env=kit.ingest_env(database_url, workdir),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        print(f"{args.flood} searches from one private chat, {args.others} other users searching")
        asyncio.run(compare(args, workdir, database_url))


if __name__ == "__main__":
    main()
