"""One feed-polling process for bench.feeds: what a worker runs, on whichever tree is first
on PYTHONPATH (this checkout, or the baseline revision the benchmark exported).

Run by path, not with -m: ``python bench/feed_poller.py`` imports ``bot`` and ``services``
from PYTHONPATH, so the same script drives today's code and the new code. It opens the
Runtime from the environment (as ``newsbot worker`` does), prints READY, and then, for
each line GO on stdin, polls with ``FeedService.poll_due()`` until nothing is due (the
call the worker's loop makes), or until the line's time limit, and prints one JSON line
of figures. EOF ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
from collections import Counter
from typing import Any

import psutil

from bot.runtime import Runtime
from bot.settings import Settings


def family_cpu(process: psutil.Process) -> float:
    """CPU seconds of this process and its children (a parse pool's processes)."""
    total = sum(process.cpu_times()[:2])
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += sum(child.cpu_times()[:2])
    return total


def family_rss(process: psutil.Process) -> int:
    total = int(process.memory_info().rss)
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += int(child.memory_info().rss)
    return total


class PeakRss:
    """Samples the resident memory of this process and its children every 20 ms."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.peak = self.before = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, family_rss(self._process))
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self.before = family_rss(self._process)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def cycle(runtime: Runtime, limit_seconds: float) -> dict[str, Any]:
    process = psutil.Process()
    stop = asyncio.Event()
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    stored = 0
    last_done = 0.0
    cpu = family_cpu(process)
    loop = asyncio.get_running_loop()
    with PeakRss() as rss:
        started = time.perf_counter()
        timer = loop.call_later(limit_seconds, stop.set)
        while not stop.is_set():
            batch = await runtime.services.feeds.poll_due(stop=stop)
            if not batch:
                break
            for report in batch:
                statuses[report.status] += 1
                stored += report.added
                if report.error:
                    errors[report.error[:40]] += 1
            last_done = time.perf_counter() - started
        timer.cancel()
    return {
        "wall": last_done,
        "cut_at_limit": stop.is_set(),
        "cpu": family_cpu(process) - cpu,
        "rss_before": rss.before,
        "rss_peak": rss.peak,
        "statuses": dict(statuses),
        "errors": dict(errors),
        "stored": stored,
    }


async def main() -> None:
    runtime = await Runtime.open(Settings.from_env())
    try:
        print("READY", flush=True)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            command, _, limit = line.strip().partition(" ")
            if command == "GO":
                figures = await cycle(runtime, float(limit or "86400"))
                print(json.dumps(figures), flush=True)
    finally:
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
