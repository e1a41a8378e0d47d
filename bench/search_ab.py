"""This checkout's search next to another revision's, on the same cached corpus, interleaved.

Usage: python -m bench.search_ab --baseline DIR --baseline-cache DIR [--cache DIR]
       [--size 200000] [--rounds 2] [--reindex]

``bench.search_scale`` measures one code tree; comparing two of its runs made minutes apart
on a shared machine compares two machine loads as much as two versions. This runs the
newsbot query phase of ``bench.scale_engines`` (the same ``SearchService`` calls on the same
queries) for the baseline tree (a checkout of the other revision, e.g. ``git archive`` of
main) and for this one, alternately, ``--rounds`` times each, each tree on the database and
index its own ``bench.search_scale`` run left in its cache (``--reindex``: rebuilt first by
``newsbot reindex``, timed, alternately too). It prints latency percentiles over all rounds,
recall against the known targets, index size, and the ratios this/baseline; then the same
percentiles over each query's best round ("best of N"), which leaves out most of what other
processes' scheduling adds on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_QUERY_PHASE = """
import asyncio, json, sys
from pathlib import Path
from bench.scale_engines import _newsbot_queries
job = json.loads(Path(sys.argv[1]).read_text())
work = Path(job["work"])
url = f"sqlite+aiosqlite:///{work / 'newsbot.db'}"
print(json.dumps(asyncio.run(_newsbot_queries(url, work / "newsbot.index", job))))
"""


def label(size: int) -> str:
    return f"{size // 1_000_000}M" if size % 1_000_000 == 0 else f"{size // 1000}k"


def env_for(tree: Path, work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{work / 'newsbot.db'}",
        "SEARCH_INDEX_DIR": str(work / "newsbot.index"),
        "PYTHONPATH": str(tree),
        "LOG_LEVEL": "WARNING",
    }


def reindex(tree: Path, work: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "reindex"], cwd=tree, env=env_for(tree, work), check=True
    )
    return time.perf_counter() - started


def queries(tree: Path, work: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _QUERY_PHASE, str(work / "job-newsbot.json")],
        cwd=tree,
        env=env_for(tree, work),
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the baseline code tree")
    parser.add_argument("--baseline-cache", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/newsbot-bench"))
    parser.add_argument("--size", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--reindex", action="store_true")
    args = parser.parse_args()
    trees = {"baseline": args.baseline.resolve(), "this": ROOT}
    works = {
        "baseline": args.baseline_cache / label(args.size) / "newsbot",
        "this": args.cache / label(args.size) / "newsbot",
    }
    targets = _targets(args.cache, args.size)
    print(f"load average at start: {os.getloadavg()}")
    built: dict[str, list[float]] = {name: [] for name in trees}
    if args.reindex:
        for name in trees:
            built[name].append(reindex(trees[name], works[name]))
            print(f"{name}: newsbot reindex {built[name][-1]:.1f} s", flush=True)
    latencies: dict[str, list[float]] = {name: [] for name in trees}
    best: dict[str, dict[str, float]] = {name: {} for name in trees}
    found: dict[str, dict[str, list[str]]] = {}
    segments: dict[str, int] = {}
    for round_ in range(args.rounds):
        for name in trees:
            result = queries(trees[name], works[name])
            latencies[name].extend(r["ms"] for r in result["results"])
            for r in result["results"]:
                best[name][r["qid"]] = min(r["ms"], best[name].get(r["qid"], float("inf")))
            found[name] = {r["qid"]: r["ids"] for r in result["results"]}
            segments[name] = int(result["segments"])
            print(f"round {round_ + 1}: {name} done, load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"load average at end: {os.getloadavg()}")
    header = "| tree | queries x rounds | p50 ms | p95 ms | p99 ms | R@1 | R@10 | index MB |"
    print(header)
    print("| --- " * 8 + "|")
    rows: dict[str, tuple[float, ...]] = {}
    for name in trees:
        spent = sorted(latencies[name])
        hits = found[name]
        r1 = statistics.mean(bool(hits[q][:1]) and hits[q][0] in t for q, t in targets.items())
        r10 = statistics.mean(bool(set(hits[q][:10]) & t) for q, t in targets.items())
        size = sum(f.stat().st_size for f in (works[name] / "newsbot.index").iterdir()) / 1e6
        p = [spent[int(share * (len(spent) - 1))] for share in (0.5, 0.95, 0.99)]
        rows[name] = (*p, r1, r10, size)
        print(
            f"| {name} | {len(hits)} x {args.rounds} | {p[0]:.2f} | {p[1]:.2f} | {p[2]:.2f} | "
            f"{r1:.3f} | {r10:.3f} | {size:.0f} ({segments[name]} segments) |"
        )
    ratios = [
        a / b if b else float("nan") for a, b in zip(rows["this"], rows["baseline"], strict=True)
    ]
    print("| this / baseline | | " + " | ".join(f"{r:.2f}" for r in ratios) + " |")
    print(f"\nbest of {args.rounds} rounds per query:")
    print("| tree | p50 ms | p95 ms | p99 ms |")
    print("| --- | --- | --- | --- |")
    percentiles = {}
    for name in trees:
        spent = sorted(best[name].values())
        percentiles[name] = [spent[int(share * (len(spent) - 1))] for share in (0.5, 0.95, 0.99)]
        print(f"| {name} | " + " | ".join(f"{p:.2f}" for p in percentiles[name]) + " |")
    ratios = [a / b for a, b in zip(percentiles["this"], percentiles["baseline"], strict=True)]
    print("| this / baseline | " + " | ".join(f"{r:.2f}" for r in ratios) + " |")
    if args.reindex:
        print(
            f"newsbot reindex: baseline {built['baseline'][0]:.1f} s, this {built['this'][0]:.1f} s"
        )
    return 0


def _targets(cache: Path, size: int) -> dict[str, set[str]]:
    """Each query's relevant ids, clean title versions included (as bench.search_scale)."""
    from bench.search_scale import with_clean_versions

    (path,) = cache.glob(f"queries-{size}-*.jsonl")
    queries = with_clean_versions([json.loads(line) for line in path.open()])
    return {q["qid"]: set(q["relevant_ids"]) for q in queries}


if __name__ == "__main__":
    sys.exit(main())
