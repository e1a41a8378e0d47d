"""Start-up of newsbot on an existing database and index: fresh processes, one after another.

Used by bench/scale_engines.py (the newsbot engine of bench.search_scale), which has built
the database and the index. Each start is a new ``newsbot search`` process on the index
the previous one left, timed from launch to exit (one query included); the index's state
and segments are compared before and after, so a start that rebuilt is seen, not assumed.
Then ``newsbot run`` against a Bot API stand-in, timed from launch to its first getUpdates.
The baseline, measured in the same run, is a start that must rebuild: the same index with
its state file removed (what every start used to do).

``python -m bench.startup phases QUERY`` (DATABASE_URL and SEARCH_INDEX_DIR set) prints
where one start spends its time, as JSON of [wall, CPU] seconds: imports, migration,
opening the index, the catch-up query and the search. CPU seconds say what a start costs
on a machine that other work keeps busy (wall seconds then mostly measure the wait).
"""

from __future__ import annotations

import time

_LAUNCHED = time.perf_counter()

import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import psutil  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUN_TOKEN = "123456:startup-bench"


def fingerprint(index_dir: Path) -> tuple[str, list[str]]:
    """The index's recorded state and its committed segments: a rebuild changes both."""
    state = (index_dir / "newsbot-state.json").read_text()
    meta = json.loads((index_dir / "meta.json").read_text())
    return state, sorted(segment["segment_id"] for segment in meta["segments"])


def timed_search(env: dict[str, str], query: str) -> tuple[float, float, str]:
    """Wall and CPU seconds of one fresh ``newsbot search`` process, and its stderr."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "search", query, "--limit", "5"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - started, _children_cpu() - cpu_before, done.stderr


def restarts(env: dict[str, str], index_dir: Path, query: str, repeats: int) -> dict[str, Any]:
    """The first start on the index the build left, then ``repeats`` more, each checked."""
    first, _, _ = timed_search(env, query)
    walls, cpus, rebuilt = [], [], 0
    for _ in range(repeats):
        before = fingerprint(index_dir)
        wall, cpu, _ = timed_search(env, query)
        rebuilt += fingerprint(index_dir) != before
        walls.append(wall)
        cpus.append(cpu)
    return {
        "startup_first_s": first,
        "startup_s": statistics.median(walls),
        "startup_max_s": max(walls),
        "startup_cpu_s": statistics.median(cpus),
        "startup_runs": repeats,
        "startup_rebuilt": rebuilt,
        "phases": phases(env, query),
        **run_until_polling(env),
    }


def rebuilding_start(env: dict[str, str], index_dir: Path, query: str) -> dict[str, Any]:
    """The baseline: a start that finds no state beside the index and rebuilds it."""
    before = fingerprint(index_dir)
    (index_dir / "newsbot-state.json").unlink()
    wall, cpu, stderr = timed_search(env, query)
    return {
        "rebuild_start_s": wall,
        "rebuild_start_cpu_s": cpu,
        "rebuild_seen": fingerprint(index_dir) != before and "rebuilding" in stderr,
    }


def phases(env: dict[str, str], query: str) -> dict[str, list[float]]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.startup", "phases", query],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run_until_polling(env: dict[str, str], within: float = 120.0) -> dict[str, float]:
    """Wall and CPU seconds from launching ``newsbot run`` to its first long poll."""
    sys.path.insert(0, str(ROOT))
    from tests.helpers.botapi import FakeBotApi
    from tests.helpers.botapi_server import FakeBotApiServer

    api = FakeBotApi(token=RUN_TOKEN)
    with FakeBotApiServer(api) as server:
        run_env = {
            **env,
            "TELEGRAM_BOT_TOKEN": RUN_TOKEN,
            "TELEGRAM_API_BASE_URL": server.base_url,
        }
        started = time.monotonic()
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=run_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # A long poll waiting at the stand-in: the bot is taking updates.
            while not api.active_polls():
                if time.monotonic() - started > within or bot.poll() is not None:
                    raise RuntimeError("`newsbot run` did not start polling")
                time.sleep(0.005)
            polling = time.monotonic() - started
            cpu = psutil.Process(bot.pid).cpu_times()
        finally:
            bot.terminate()
            bot.wait(60)
    return {"run_polling_s": polling, "run_polling_cpu_s": cpu.user + cpu.system}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- one start, phase by phase (run in a fresh process) ---------------------------------


def _phases_main(query: str) -> dict[str, tuple[float, float]]:
    """Wall and CPU seconds of each step of one start."""
    import asyncio

    marks: dict[str, tuple[float, float]] = {}
    step = (time.perf_counter(), time.process_time())

    def mark(name: str) -> None:
        nonlocal step
        now = (time.perf_counter(), time.process_time())
        marks[name] = (now[0] - step[0], now[1] - step[1])
        step = now

    import bot.cli  # noqa: F401  (what `newsbot search` imports)

    mark("imports")
    from bot.settings import Settings
    from services.articles import ArticleService
    from services.search import SearchService
    from storage.db import create_engine, create_session_factory, migrate
    from storage.index_sync import IndexFollower
    from storage.search_index import SearchIndex

    async def start() -> None:
        settings = Settings.from_env()
        engine = create_engine(settings.database_url)
        await migrate(engine)
        mark("migrate")
        sessions = create_session_factory(engine)
        index = SearchIndex(settings.index_path())
        mark("open index")
        await IndexFollower(index, sessions).catch_up()
        mark("catch-up")
        await SearchService(index, ArticleService(sessions)).search(query, limit=5)
        mark("first search")
        await engine.dispose()

    asyncio.run(start())
    marks["total after the interpreter's start"] = (
        time.perf_counter() - _LAUNCHED,
        time.process_time(),
    )
    return marks


if __name__ == "__main__":
    if sys.argv[1:2] != ["phases"] or len(sys.argv) != 3:
        sys.exit("usage: python -m bench.startup phases QUERY")
    print(json.dumps(_phases_main(sys.argv[2])))
