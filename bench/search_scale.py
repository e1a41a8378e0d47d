"""Search at scale: newsbot next to rapidfuzz, SQLite FTS5 and PostgreSQL, one table per corpus.

Usage: python -m bench.search_scale [--sizes 10000,100000,1000000] [--queries 1000]

For the development corpus (../shared/data, when present) and a synthetic corpus of each
size (bench/corpus.py), every engine runs the same queries in a process of its own:

- newsbot: the ``SearchService`` the bot calls, over a SQLite database loaded with
  ``newsbot ingest`` (parse, clean, summarise, store, index); its build time is
  ``newsbot reindex`` (the index from the database); start-up is fresh ``newsbot search``
  processes, each on the index the one before left (checked for no rebuild), and
  ``newsbot run`` to its first getUpdates, against a start that must rebuild
  (bench/startup.py);
- rapidfuzz: plain ``process.extract`` over every title (default scorer, WRatio);
- SQLite FTS5 over title and body (unicode61, the words OR-ed, the last one as a prefix,
  BM25 with titles weighted 5);
- when PostgreSQL is reachable: pg_trgm on titles (GIN, ``<%`` word similarity, ordered by
  ``<<->``; ``pg_trgm`` at its default threshold 0.6, ``pg_trgm_0.3`` at 0.3, which finds
  more typo'd titles and costs more), and full-text search on title and body
  (``pg_fts``: GIN over a ``simple`` tsvector, the words OR-ed, ordered by ``ts_rank_cd``);
- ``newsbot_pg`` (not in the default list: its load takes long at 1M): newsbot with its
  articles in PostgreSQL instead of SQLite, the index beside the process as in production.

Slow baselines run on an evenly spread sample of the queries at large sizes (the table says
how many); the ratios compare newsbot with each baseline on that same sample. Then the
freshness check: probe articles stored by one process, found (and, once deleted, gone) in
others that follow the article log, on SQLite at each size and on PostgreSQL with two
followers. Corpora, databases and indexes are cached under --cache (default /tmp).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import corpus as synthetic  # noqa: E402
from bench.scale_engines import postgres_reachable, read_corpus  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"
DEFAULT_CACHE = Path("/tmp/newsbot-bench")
# Queries each baseline runs at most, by corpus size: enough for stable medians, bounded time.
SAMPLES = {
    "rapidfuzz": ((10_000, None), (100_000, 200), (None, 50)),
    "fts5": ((100_000, None), (None, 200)),
    "pg_trgm": ((None, None),),
    "pg_trgm_0.3": ((100_000, None), (None, 200)),
    "pg_fts": ((100_000, None), (None, 200)),
}
TITLE_TYPO = "title typo (all kinds)"


@dataclass(frozen=True, slots=True)
class Corpus:
    name: str
    size: int
    articles: Path
    queries: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Figures:
    n: int
    recall1: float
    recall10: float
    mrr10: float
    p50: float
    p95: float
    p99: float


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=1000, help="synthetic queries per size")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--engines", default="newsbot,rapidfuzz,fts5,pg_trgm,pg_trgm_0.3,pg_fts")
    parser.add_argument("--probes", type=int, default=20, help="freshness probes (0: skip)")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    engines = args.engines.split(",")
    with_postgres = postgres_reachable()
    if not with_postgres:
        engines = [e for e in engines if "pg" not in e.split("_")]
    print(machine())
    corpora = []
    if (args.data / "articles.jsonl").exists():
        corpora.append(dev_corpus(args.data))
    else:
        print(f"no development corpus at {args.data}: synthetic corpora only\n")
    corpora.extend(
        synthetic_corpus(int(size), args.queries, args.cache) for size in args.sizes.split(",")
    )
    for corpus in corpora:
        started = time.perf_counter()
        runs = {}
        for engine in engines:
            runs[engine] = run_engine(engine, corpus, args.cache)
            if engine == "newsbot" and args.probes and corpus.name != "dev":
                # Before the baselines build theirs: a disk busy writing gigabytes of other
                # indexes makes every commit wait.
                work = args.cache / corpus.name / "newsbot"
                url = f"sqlite+aiosqlite:///{work / 'newsbot.db'}"
                fresh = worker("freshness", _freshness_job(url, [work / "newsbot.index"], args))
        report(corpus, runs)
        if args.probes and corpus.name != "dev" and "newsbot" in engines:
            print_freshness(f"SQLite, {corpus.name}, 1 follower", fresh)
        print(f"\n({corpus.name} took {time.perf_counter() - started:.0f} s)\n", flush=True)
    if args.probes and with_postgres:
        postgres_freshness(min(corpora, key=lambda c: (c.name == "dev", c.size)), args)
    return 0


# -- corpora -----------------------------------------------------------------------


def dev_corpus(data: Path) -> Corpus:
    queries = [json.loads(line) for line in (data / "queries.jsonl").open()]
    size = sum(1 for _ in (data / "articles.jsonl").open())
    return Corpus("dev", size, data / "articles.jsonl", with_clean_versions(queries))


def synthetic_corpus(size: int, query_count: int, cache: Path) -> Corpus:
    name = label(size)
    articles = cache / f"articles-{size}.jsonl"
    queries_file = cache / f"queries-{size}-{query_count}.jsonl"
    if not articles.exists():
        _write_articles(size, articles, cache)
    if not queries_file.exists():
        step = max(1, size // 20_000)
        titles, kept = [], []
        for i, article in enumerate(read_corpus(articles)):
            titles.append(str(article["title"]))
            if i % step == 0:
                kept.append(article)
        made = synthetic.queries(kept, query_count, titles=titles)
        queries_file.write_text("".join(json.dumps(q) + "\n" for q in made))
    queries = [json.loads(line) for line in queries_file.open()]
    return Corpus(name, size, articles, with_clean_versions(queries))


def _write_articles(size: int, path: Path, cache: Path) -> None:
    # The first N articles of a larger corpus are the corpus of N: reuse one when cached.
    larger = sorted(
        (p for p in cache.glob("articles-*.jsonl") if int(p.stem.split("-")[1]) > size),
        key=lambda p: int(p.stem.split("-")[1]),
    )
    temporary = path.with_suffix(".tmp")
    with temporary.open("w") as out:
        if larger:
            with larger[0].open() as source:
                for i, line in enumerate(source):
                    if i == size:
                        break
                    out.write(line)
        else:
            for article in synthetic.articles(synthetic.Vocabulary.load(), size):
                out.write(json.dumps(article) + "\n")
    temporary.replace(path)


def with_clean_versions(queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The queries, plus the clean version of every typo'd title query as ``title_clean``."""
    clean = [
        dict(q, qid=f"{q['qid']}-clean", type="title_clean", query=q["clean_query"])
        for q in queries
        if q.get("clean_query")
    ]
    return queries + clean


def label(size: int) -> str:
    return f"{size // 1_000_000}M" if size % 1_000_000 == 0 else f"{size // 1000}k"


# -- running engines ---------------------------------------------------------------


def sample(queries: list[dict[str, Any]], engine: str, size: int) -> list[dict[str, Any]]:
    limit: int | None = None
    for up_to, count in SAMPLES.get(engine, ((None, None),)):
        if up_to is None or size <= up_to:
            limit = count
            break
    if limit is None or len(queries) <= limit:
        return queries
    step = len(queries) / limit
    return [queries[int(i * step)] for i in range(limit)]


def run_engine(engine: str, corpus: Corpus, cache: Path) -> dict[str, Any]:
    queries = sample(corpus.queries, engine, corpus.size)
    work = cache / corpus.name / (engine if engine == "newsbot_pg" else engine.split("_")[0])
    job: dict[str, Any] = {
        "corpus": str(corpus.articles),
        "work": str(work),
        "queries": [{"qid": q["qid"], "query": q["query"]} for q in queries],
    }
    if engine == "newsbot_pg":  # the same search, its articles read from PostgreSQL
        job["database"] = f"newsbot_bench_{corpus.name.lower()}"
    elif engine.startswith("pg_"):
        mode, _, threshold = engine[3:].partition("_")
        job.update(table=f"c_{corpus.name.lower()}", mode=mode)
        if threshold:
            job["threshold"] = float(threshold)
    print(f"{corpus.name}: {engine} on {len(queries)} queries ...", file=sys.stderr, flush=True)
    kind = "postgres" if engine.startswith("pg_") else engine.removesuffix("_pg")
    result = worker(kind, job)
    result["queries"] = queries
    return result


def worker(engine: str, job: dict[str, Any]) -> dict[str, Any]:
    work = Path(job["work"])
    work.mkdir(parents=True, exist_ok=True)
    job_file = work / f"job-{engine}.json"
    job_file.write_text(json.dumps(job))
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale_engines", engine, str(job_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _freshness_job(
    url: str, index_dirs: Sequence[Path], args: argparse.Namespace
) -> dict[str, Any]:
    work = args.cache / "freshness"
    return {
        "work": str(work),
        "url": url,
        "index_dirs": [str(d) for d in index_dirs],
        "count": args.probes,
    }


def postgres_freshness(corpus: Corpus, args: argparse.Namespace) -> None:
    """Two bot-like processes, each with its own index, on one PostgreSQL database."""
    import asyncio

    from bench.scale_engines import _postgres_database

    work = args.cache / "freshness-pg"
    url = asyncio.run(_postgres_database("newsbot_bench_fresh", fresh=True))
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    env["SEARCH_INDEX_DIR"] = str(work / "ingest.index")
    subprocess.run(
        [sys.executable, "-m", "bot", "ingest", str(corpus.articles)],
        env=env,
        check=True,
        capture_output=True,
    )
    dirs = [work / "a.index", work / "b.index"]
    for d in dirs:
        subprocess.run(["rm", "-rf", str(d)], check=True)
    fresh = worker("freshness", _freshness_job(url, dirs, args))
    print_freshness(f"PostgreSQL, {corpus.name}, 2 followers", fresh)


# -- scoring and tables ------------------------------------------------------------


def figures(queries: Sequence[dict[str, Any]], results: dict[str, dict[str, Any]]) -> Figures:
    found1 = found10 = 0
    reciprocal = 0.0
    latencies = []
    for query in queries:
        result = results[query["qid"]]
        latencies.append(result["ms"])
        relevant = set(query["relevant_ids"])
        ranks = [i for i, public_id in enumerate(result["ids"][:10]) if public_id in relevant]
        if ranks:
            found10 += 1
            found1 += ranks[0] == 0
            reciprocal += 1 / (ranks[0] + 1)
    n = len(queries)
    if not n:
        return Figures(0, 0, 0, 0, 0, 0, 0)
    latencies.sort()
    return Figures(
        n,
        found1 / n,
        found10 / n,
        reciprocal / n,
        statistics.median(latencies),
        latencies[int(0.95 * (n - 1))],
        latencies[int(0.99 * (n - 1))],
    )


def kind_of(query: dict[str, Any]) -> str:
    if query["type"] in ("title_clean", "body_keywords"):
        return str(query["type"])
    return TITLE_TYPO


def by_kind(queries: Sequence[dict[str, Any]], key: Any = kind_of) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for query in queries:
        groups.setdefault(key(query), []).append(query)
    return groups


def report(corpus: Corpus, runs: dict[str, dict[str, Any]]) -> None:
    print(f"### {corpus.name}: {corpus.size:,} articles, {len(corpus.queries)} queries\n")
    kinds = [TITLE_TYPO, "title_clean", "body_keywords"]
    print(
        "| engine | queries | build s | index MB | RSS MB | p50 ms | p95 ms | p99 ms | "
        + " | ".join(f"{k} R@1 / R@10 / MRR@10" for k in kinds)
        + " |"
    )
    print("|" + " --- |" * (8 + len(kinds)))
    ours = runs.get("newsbot")
    ours_results = {r["qid"]: r for r in ours["results"]} if ours else {}
    for engine, run in runs.items():
        results = {r["qid"]: r for r in run["results"]}
        overall = figures(run["queries"], results)
        groups = by_kind(run["queries"])
        cells = []
        for kind in kinds:
            f = figures(groups.get(kind, []), results)
            cells.append(f"{f.recall1:.3f} / {f.recall10:.3f} / {f.mrr10:.3f}" if f.n else "–")
        index_mb = f"{run['index_mb']:.0f}" if "index_mb" in run else "–"
        rss = f"{run['rss_mb']:.0f}" if "rss_mb" in run else "server"
        print(
            f"| {engine} | {overall.n} | {run.get('build_s', 0):.1f} | {index_mb} | {rss} | "
            f"{overall.p50:.2f} | {overall.p95:.2f} | {overall.p99:.2f} | "
            + " | ".join(cells)
            + " |"
        )
        if ours and engine != "newsbot":
            mine = figures(run["queries"], ours_results)
            ratio_cells = []
            for kind in kinds:
                a = figures(groups.get(kind, []), ours_results)
                b = figures(groups.get(kind, []), results)
                ratio_cells.append(f"R@10 {_ratio(a.recall10, b.recall10)}" if a.n else "–")
            print(
                f"| newsbot / {engine} | same {overall.n} | | | | "
                f"{_ratio(mine.p50, overall.p50)} | "
                f"{_ratio(mine.p95, overall.p95)} | {_ratio(mine.p99, overall.p99)} | "
                + " | ".join(ratio_cells)
                + " |"
            )
    if ours:
        print()
        print(
            f"newsbot: index {ours['index_mb']:.0f} MB on disk in {ours['segments']} segments; "
            f"resident memory {ours['rss_before_mb']:.0f} MB before opening, {ours['rss_mb']:.0f} "
            f"MB after all queries (peak {ours['peak_rss_mb']:.0f} MB); "
            f"`newsbot ingest` {ours['ingest_s']:.0f} s, `newsbot reindex` {ours['build_s']:.0f} s"
            + (" (cached)" if ours.get("reused") else "")
            + ".\n"
        )
        print(startup_line(ours) + "\n")
        print("| newsbot, by query kind | n | R@1 | R@10 | MRR@10 | p50 ms | p99 ms |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for kind, group in sorted(by_kind(ours["queries"], lambda q: q["type"]).items()):
            f = figures(group, ours_results)
            print(
                f"| {kind} | {f.n} | {f.recall1:.3f} | {f.recall10:.3f} | {f.mrr10:.3f} | "
                f"{f.p50:.2f} | {f.p99:.2f} |"
            )
    print()


def startup_line(run: dict[str, Any]) -> str:
    """Restarts on the existing index, against a start that rebuilds (bench/startup.py)."""
    phases = ", ".join(
        f"{name} {wall:.2f} s (CPU {cpu:.2f} s)" for name, (wall, cpu) in run["phases"].items()
    )
    rebuilt = run["startup_rebuilt"]
    return (
        f"Start-up on the existing index (each a new `newsbot search` process on the index the "
        f"one before left, one query): median {run['startup_s']:.2f} s of {run['startup_runs']} "
        f"(max {run['startup_max_s']:.2f} s, CPU {run['startup_cpu_s']:.2f} s), "
        f"{'rebuilt in ' + str(rebuilt) if rebuilt else 'none rebuilt the index'}; "
        f"the first start after the build {run['startup_first_s']:.2f} s; `newsbot run` to its "
        f"first long poll {run['run_polling_s']:.2f} s (CPU {run['run_polling_cpu_s']:.2f} s). "
        "Baseline, a start that rebuilds (the "
        f"state file removed): {run['rebuild_start_s']:.2f} s (CPU "
        f"{run['rebuild_start_cpu_s']:.2f} s; rebuild "
        f"{'seen' if run['rebuild_seen'] else 'NOT seen'}), "
        f"{_ratio(run['rebuild_start_s'], run['startup_s'])}x the start on a current index. "
        f"One start by phase: {phases}."
    )


def print_freshness(title: str, result: dict[str, Any]) -> None:
    for i, follower in enumerate(result["followers"]):
        found = sorted(follower["found_ms"])
        gone = sorted(follower["deleted_ms"])
        print(
            f"Freshness ({title}), follower {i + 1} (opened in {follower['open_s']:.2f} s): "
            f"stored -> found median {statistics.median(found):.0f} ms, max {found[-1]:.0f} ms; "
            f"deleted -> gone median {statistics.median(gone):.0f} ms, max {gone[-1]:.0f} ms "
            f"({len(found)} probes; a catch-up took {follower['catch_up_ms'][0]:.0f} ms median, "
            f"{follower['catch_up_ms'][1]:.0f} ms max)"
        )


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "n/a"


def machine() -> str:
    import sqlite3

    import psutil
    import rapidfuzz

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"Machine: {os.cpu_count()} cores ({model}), "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, Python {platform.python_version()}, "
        f"rapidfuzz {rapidfuzz.__version__}, SQLite {sqlite3.sqlite_version}; "
        f"load average at start {load}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
