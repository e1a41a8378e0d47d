"""Search relevance and latency on the development corpus, next to a rapidfuzz baseline.

Usage: python bench/search.py [--data ../shared/data]

Loads articles.jsonl into a fresh SQLite database through the same ingestion path as
``newsbot ingest``, with the multi-script set of bench/multiscript.py beside it, indexes
them, then runs every query of queries.jsonl through the ``SearchService`` the bot calls.
The baseline, measured in the same run, is plain ``rapidfuzz.process.extract`` (WRatio)
over the titles. A query counts as found at k when any of its ``relevant_ids`` is among the
first k results; MRR@10 is the mean of 1/rank. Then, per script, whether every multi-script
query (with and without typos) finds its article first, for newsbot and the baseline. Without
the development corpus, only the multi-script set is loaded and measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rapidfuzz import process  # noqa: E402

from bench.multiscript import ARTICLES, QUERIES  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.settings import Settings  # noqa: E402
from services.parsing import RawArticle, parse_file  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"


@dataclass(frozen=True, slots=True)
class Figures:
    recall1: float
    recall10: float
    mrr10: float
    median_ms: float
    p95_ms: float


def score(
    queries: Sequence[dict[str, object]],
    search: Callable[[str], list[str]],
) -> Figures:
    found1 = found10 = 0
    reciprocal = 0.0
    latencies = []
    for query in queries:
        relevant = set(query["relevant_ids"])  # type: ignore[call-overload]
        started = time.perf_counter()
        ranked = search(str(query["query"]))[:10]
        latencies.append((time.perf_counter() - started) * 1000)
        ranks = [i for i, public_id in enumerate(ranked) if public_id in relevant]
        if ranks:
            found10 += 1
            found1 += ranks[0] == 0
            reciprocal += 1 / (ranks[0] + 1)
    n = len(queries)
    latencies.sort()
    return Figures(
        found1 / n,
        found10 / n,
        reciprocal / n,
        statistics.median(latencies),
        latencies[int(0.95 * (n - 1))],
    )


async def run(data: Path | None) -> None:
    queries = [] if data is None else [json.loads(line) for line in (data / "queries.jsonl").open()]
    with tempfile.TemporaryDirectory() as workdir:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{workdir}/bench.db",
            search_index_dir=Path(workdir) / "index",
        )
        runtime = await Runtime.open(settings)
        started = time.perf_counter()
        path = None if data is None else data / "articles.jsonl"
        scripts = [
            RawArticle(title=a.title, body=a.body, published_at=None, external_id=a.key)
            for a in ARTICLES
        ]
        loaded = [(item, "multiscript") for item in scripts]
        if path is not None:
            loaded.extend((item, str(path)) for item in parse_file(path))  # type: ignore[misc]
        report = await runtime.services.ingest.ingest(loaded)
        await runtime.follower.catch_up()
        load_seconds = time.perf_counter() - started
        print(
            f"loaded {report.added} articles (+{report.skipped} duplicates) in {load_seconds:.1f}s"
        )

        titles = {a.key: a.title for a in ARTICLES}
        for item in parse_file(path) if path is not None else ():
            if not hasattr(item, "reason"):
                titles[item.external_id] = item.title  # type: ignore[union-attr]
        choices = list(titles.items())
        loop = asyncio.get_running_loop()

        def newsbot(text: str) -> list[str]:
            future = asyncio.run_coroutine_threadsafe(
                runtime.services.search.search(text, limit=10), loop
            )
            return [hit.article.public_id for hit in future.result().hits]

        def baseline(text: str) -> list[str]:
            found = process.extract(text, [t for _, t in choices], limit=10)
            return [choices[index][0] for _, _, index in found]

        results: dict[str, dict[str, Figures]] = {}
        for kind in sorted({q["type"] for q in queries}):
            subset = [q for q in queries if q["type"] == kind]
            results[kind] = {
                "newsbot": await asyncio.to_thread(score, subset, newsbot),
                "rapidfuzz extract (titles)": await asyncio.to_thread(score, subset, baseline),
            }
        scripts_found = {
            engine: await asyncio.to_thread(found_first, search)
            for engine, search in (("newsbot", newsbot), ("rapidfuzz", baseline))
        }
        await runtime.close()

    if results:
        print_english(queries, results)
    print_scripts(scripts_found)


def found_first(search: Callable[[str], list[str]]) -> dict[str, list[tuple[str, bool, bool]]]:
    """For each script, each query, whether it had a typo and whether its article came first."""
    found: dict[str, list[tuple[str, bool, bool]]] = {}
    for query in QUERIES:
        first = search(query.text)[:1]
        found.setdefault(query.script, []).append((query.text, query.typo, first == [query.target]))
    return found


def print_scripts(found: dict[str, dict[str, list[tuple[str, bool, bool]]]]) -> None:
    print(
        f"\nmulti-script set (bench/multiscript.py): {len(ARTICLES)} articles, "
        f"{len(QUERIES)} queries"
    )
    header = (
        f"{'script':<12}{'queries':>8}{'typo':>6}{'newsbot 1st':>13}{'all first':>11}"
        f"{'baseline 1st':>14}"
    )
    print(header)
    print("-" * len(header))
    ours, theirs = found["newsbot"], found["rapidfuzz"]
    for script, results in ours.items():
        firsts = sum(ok for _, _, ok in results)
        typos = sum(typo for _, typo, _ in results)
        baseline = sum(ok for _, _, ok in theirs[script])
        every = "yes" if firsts == len(results) else "NO"
        print(f"{script:<12}{len(results):>8}{typos:>6}{firsts:>13}{every:>11}{baseline:>14}")
    missed = [(s, text) for s, results in ours.items() for text, _, ok in results if not ok]
    total = sum(len(r) for r in ours.values())
    print(f"newsbot: {total - len(missed)} of {total} queries find their article first")
    for script, text in missed:
        print(f"  missed ({script}): {text}")


def print_english(
    queries: Sequence[dict[str, object]], results: dict[str, dict[str, Figures]]
) -> None:
    header = (
        f"{'query kind':<15}{'engine':<28}{'n':>5}{'R@1':>7}{'R@10':>7}"
        f"{'MRR@10':>8}{'p50 ms':>8}{'p95 ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for kind, engines in results.items():
        n = sum(1 for q in queries if q["type"] == kind)
        for engine, f in engines.items():
            print(
                f"{kind:<15}{engine:<28}{n:>5}{f.recall1:>7.3f}{f.recall10:>7.3f}"
                f"{f.mrr10:>8.3f}{f.median_ms:>8.2f}{f.p95_ms:>8.2f}"
            )
        ours, theirs = engines["newsbot"], engines["rapidfuzz extract (titles)"]
        print(
            f"{'':<15}{'ratio newsbot/baseline':<28}{'':>5}"
            f"{_ratio(ours.recall1, theirs.recall1):>7}{_ratio(ours.recall10, theirs.recall10):>7}"
            f"{_ratio(ours.mrr10, theirs.mrr10):>8}{_ratio(ours.median_ms, theirs.median_ms):>8}"
            f"{_ratio(ours.p95_ms, theirs.p95_ms):>8}"
        )
    print("targets (issue 2): recall@10 >= 0.95 on title_typo, >= 0.80 on body_keywords")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    if not (args.data / "articles.jsonl").exists():
        print(f"no development corpus at {args.data}: the multi-script set only")
        asyncio.run(run(None))
        return 0
    asyncio.run(run(args.data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
