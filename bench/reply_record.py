"""What recording replies for the alert sender costs the reply path.

Usage: python -m bench.reply_record [--replies 500] [--latency-ms 50]
           [--database postgresql+asyncpg://...]

Every reply to a chat alerts go to is written to chat_sends, alongside its request (see
handlers/pacing.py). This sends ``--replies`` replies through ChatPacer to 200 subscribed
chats, each request held ``--latency-ms`` (Telegram's round trip), one after another as a
busy chat's replies would go, twice: with the recorder attached (as every process runs)
and, as the baseline in the same run, without it. Reported: wall time per reply (what a
user waits), the process's CPU per reply, and the write alone awaited on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bench import alertkit as kit
from handlers.pacing import ChatPacer
from services.alerts.replies import ReplyLog
from storage.models import Chat

CHATS = 200


async def replies(pacer: ChatPacer, count: int, latency: float) -> tuple[list[float], float]:
    """Per-reply wall times, and CPU seconds for them all."""

    async def telegram(**_: Any) -> bool:
        await asyncio.sleep(latency)
        return True

    walls = []
    cpu = time.process_time()
    for n in range(count):
        started = time.perf_counter()
        chat = (n % CHATS) + 1 if n % 3 else -((n % CHATS) + 1)
        await pacer.process_request(telegram, (), {}, "sendMessage", {"chat_id": chat}, None)
        walls.append(time.perf_counter() - started)
    await pacer.recorded()
    return walls, time.process_time() - cpu


def describe(walls: list[float]) -> str:
    ordered = sorted(walls)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"median {statistics.median(walls) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


async def run(args: argparse.Namespace) -> None:
    with kit.workdir() as workdir:
        db = kit.Database(workdir, args.database)
        await db.create()
        sessions = db.sessions()
        try:
            now = datetime.now(UTC)
            async with sessions.begin() as session:
                for n in range(1, CHATS + 1):
                    session.add(Chat(id=n, kind="private", created_at=now))
                    session.add(Chat(id=-n, kind="group", created_at=now))
            log = ReplyLog(sessions, clock=lambda: datetime.now(UTC))
            latency = args.latency_ms / 1000
            print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
            print(f"{args.replies} replies, {args.latency_ms} ms each, {db.kind}")
            plain = ChatPacer()
            await replies(plain, 20, latency)  # warm up
            base_walls, base_cpu = await replies(plain, args.replies, latency)
            recording = ChatPacer()
            recording.attach(log)
            await replies(recording, 20, latency)
            walls, cpu = await replies(recording, args.replies, latency)
            writes = []
            for n in range(args.replies):
                started = time.perf_counter()
                await log.record((n % CHATS) + 1)
                writes.append(time.perf_counter() - started)
            n = args.replies
            print(
                f"baseline, nothing recorded: {describe(base_walls)} a reply; "
                f"CPU {base_cpu / n * 1000:.2f} ms a reply"
            )
            print(
                f"recorded for the alert sender: {describe(walls)} a reply; "
                f"CPU {cpu / n * 1000:.2f} ms a reply"
            )
            extra = statistics.median(walls) - statistics.median(base_walls)
            print(
                f"cost on the reply path: {extra * 1000:+.2f} ms wall a reply (median), "
                f"CPU {(cpu - base_cpu) / n * 1000:+.2f} ms a reply "
                f"(ratio {cpu / base_cpu if base_cpu else float('inf'):.2f}x)"
            )
            print(f"the write alone, awaited: {describe(writes)}")
        finally:
            await sessions.kw["bind"].dispose()
            await db.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--database", help="a PostgreSQL server URL (a fresh database is made)")
    args = parser.parse_args()
    print(f"machine: {kit.machine()}")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
