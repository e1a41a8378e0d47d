"""The engines bench/search_scale.py compares, each run in a process of its own.

Usage (by bench/search_scale.py): python -m bench.scale_engines ENGINE JOB.json

JOB.json names the corpus, the queries to run ({"qid", "query"}), a work directory and
engine options. The engine builds its index in the work directory (or reuses one built
there before: the build time is kept beside it), runs the queries one at a time and prints
one JSON object: build seconds, resident memory, and per query its milliseconds and the
public ids of its first ten results.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil

from bench import startup

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_SCHEMA = "newsbot_bench"
STARTS = 5  # fresh `newsbot search` processes timed after the first


def read_corpus(path: Path) -> Iterator[dict[str, Any]]:
    with path.open() as lines:
        for line in lines:
            yield json.loads(line)


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def timed(
    queries: list[dict[str, str]], search: Callable[[str], list[str]]
) -> list[dict[str, Any]]:
    results = []
    for query in queries:
        started = time.perf_counter()
        found = search(query["query"])
        elapsed = (time.perf_counter() - started) * 1000
        results.append({"qid": query["qid"], "ms": elapsed, "ids": found[:10]})
    return results


def cached_build(work: Path, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``build`` once per work directory; later runs reuse its figures."""
    marker = work / "build.json"
    if marker.exists():
        return dict(json.loads(marker.read_text()), reused=True)
    work.mkdir(parents=True, exist_ok=True)
    figures = build()
    marker.write_text(json.dumps(figures))
    return dict(figures, reused=False)


# -- newsbot -----------------------------------------------------------------------


def newsbot(job: dict[str, Any]) -> dict[str, Any]:
    """newsbot's SearchService over a database loaded with ``newsbot ingest``.

    SQLite by default; with ``job["database"]``, a PostgreSQL database of that name.
    """
    work = Path(job["work"])
    index_dir = work / "newsbot.index"
    if job.get("database"):
        url = asyncio.run(
            _postgres_database(job["database"], fresh=not (work / "build.json").exists())
        )
    else:
        url = f"sqlite+aiosqlite:///{work / 'newsbot.db'}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SEARCH_INDEX_DIR": str(index_dir),
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
    }

    def build() -> dict[str, Any]:
        figures = _ingested(work, env, job["corpus"])
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot", "reindex"], env=env, check=True)
        return {**figures, "build_s": time.perf_counter() - started}

    figures = cached_build(work, build)
    # Start-up: fresh processes, each on the index the one before left (bench/startup.py).
    query = job["queries"][0]["query"]
    figures.update(startup.restarts(env, index_dir, query, STARTS))
    figures.update(asyncio.run(_newsbot_queries(url, index_dir, job)))
    figures["index_mb"] = sum(f.stat().st_size for f in index_dir.iterdir()) / 1e6
    # Last, as it replaces the index: the baseline start that has to rebuild.
    figures.update(startup.rebuilding_start(env, index_dir, query))
    return figures


def _ingested(work: Path, env: dict[str, str], corpus: str) -> dict[str, Any]:
    """``newsbot ingest`` of the corpus, once per work directory (its time kept beside)."""
    marker = work / "ingest.json"
    if marker.exists():
        return dict(json.loads(marker.read_text()))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", "ingest", corpus], env=env, check=True)
    figures = {"ingest_s": time.perf_counter() - started}
    marker.write_text(json.dumps(figures))
    return figures


async def _newsbot_queries(url: str, index_dir: Path, job: dict[str, Any]) -> dict[str, Any]:
    from bot.runtime import Runtime
    from bot.settings import Settings

    before = rss_mb()
    started = time.perf_counter()
    runtime = await Runtime.open(Settings(database_url=url, search_index_dir=index_dir))
    opened = time.perf_counter() - started
    search = runtime.services.search
    try:
        segments = runtime.follower.index.segment_count()
        results = []
        for query in job["queries"]:
            started = time.perf_counter()
            page = await search.search(query["query"], limit=10)
            elapsed = (time.perf_counter() - started) * 1000
            ids = [hit.article.public_id for hit in page.hits]
            results.append({"qid": query["qid"], "ms": elapsed, "ids": ids})
    finally:
        await runtime.close()
    return {
        "open_s": opened,
        "rss_before_mb": before,
        "rss_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
        "segments": segments,
        "results": results,
    }


# -- rapidfuzz ---------------------------------------------------------------------


def rapidfuzz_extract(job: dict[str, Any]) -> dict[str, Any]:
    """Plain ``rapidfuzz.process.extract`` (its default scorer, WRatio) over every title."""
    from rapidfuzz import process

    started = time.perf_counter()
    ids, titles = [], []
    for article in read_corpus(Path(job["corpus"])):
        ids.append(str(article["id"]))
        titles.append(str(article["title"]))
    load = time.perf_counter() - started

    def search(text: str) -> list[str]:
        return [ids[i] for _, _, i in process.extract(text, titles, limit=10)]

    results = timed(job["queries"], search)
    return {"build_s": load, "rss_mb": rss_mb(), "peak_rss_mb": peak_rss_mb(), "results": results}


# -- SQLite FTS5 -------------------------------------------------------------------


def _fts_query(text: str) -> str | None:
    from storage.text import tokens

    words = tokens(text)
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"  # the last word may be unfinished
    return " OR ".join(quoted)


def sqlite_fts5(job: dict[str, Any]) -> dict[str, Any]:
    """SQLite FTS5 (unicode61, accents removed) over title and body, ranked by BM25."""
    work = Path(job["work"])
    path = work / "fts5.db"

    def build() -> dict[str, Any]:
        started = time.perf_counter()
        with sqlite3.connect(path) as db:
            db.execute(
                "CREATE VIRTUAL TABLE docs USING fts5("
                "ext UNINDEXED, title, body, tokenize='unicode61 remove_diacritics 2')"
            )
            db.executemany(
                "INSERT INTO docs (ext, title, body) VALUES (?, ?, ?)",
                ((a["id"], a["title"], a["body"]) for a in read_corpus(Path(job["corpus"]))),
            )
            db.execute("INSERT INTO docs (docs) VALUES ('optimize')")
        return {"build_s": time.perf_counter() - started}

    figures = cached_build(work, build)
    db = sqlite3.connect(path)

    def search(text: str) -> list[str]:
        match = _fts_query(text)
        if match is None:
            return []
        rows = db.execute(
            "SELECT ext FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0, 5.0, 1.0) LIMIT 10",
            (match,),
        )
        return [str(row[0]) for row in rows]

    figures["results"] = timed(job["queries"], search)
    figures.update(rss_mb=rss_mb(), peak_rss_mb=peak_rss_mb(), index_mb=path.stat().st_size / 1e6)
    db.close()
    return figures


# -- PostgreSQL --------------------------------------------------------------------


def postgres_reachable() -> bool:
    import asyncpg

    async def probe() -> bool:
        try:
            connection = await asyncpg.connect(POSTGRES_URL, timeout=3)
        except (OSError, asyncpg.PostgresError):
            return False
        await connection.close()
        return True

    return asyncio.run(probe())


def postgres(job: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL in the database: pg_trgm on titles, or full-text search on title and body."""
    return asyncio.run(_postgres(job))


async def _postgres(job: dict[str, Any]) -> dict[str, Any]:
    import asyncpg

    table = f"{PG_SCHEMA}.{job['table']}"
    mode = job["mode"]  # "trgm" or "fts"
    threshold = job.get("threshold")  # of pg_trgm's word similarity (its default: 0.6)
    db = await asyncpg.connect(POSTGRES_URL)
    try:
        exists = await db.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
        marker = Path(job["work"]) / f"pg-{job['table']}.json"
        if not exists or not marker.exists():
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps(await _postgres_build(db, table, Path(job["corpus"]))))
        figures: dict[str, Any] = json.loads(marker.read_text())
        figures["build_s"] = figures[f"{mode}_build_s"]
        figures["index_mb"] = figures[f"{mode}_index_mb"]
        if threshold is not None:
            await db.execute(f"SET pg_trgm.word_similarity_threshold = {float(threshold)}")
        if mode == "trgm":
            sql = f"SELECT ext FROM {table} WHERE $1 <% title ORDER BY $1 <<-> title LIMIT 10"
        else:
            sql = (
                f"SELECT ext FROM {table} WHERE tsv @@ to_tsquery('simple', $1) "
                "ORDER BY ts_rank_cd(tsv, to_tsquery('simple', $1)) DESC LIMIT 10"
            )
        results = []
        for query in job["queries"]:
            text = query["query"] if mode == "trgm" else _tsquery(query["query"])
            started = time.perf_counter()
            rows = await db.fetch(sql, text) if text else []
            elapsed = (time.perf_counter() - started) * 1000
            results.append({"qid": query["qid"], "ms": elapsed, "ids": [r[0] for r in rows]})
        figures["results"] = results
        return figures
    finally:
        await db.close()


def _tsquery(text: str) -> str | None:
    from storage.text import tokens

    words = [w for w in tokens(text) if w.isalnum()]
    if not words:
        return None
    return " | ".join([*words[:-1], words[-1] + ":*"])


async def _postgres_build(db: Any, table: str, corpus: Path) -> dict[str, Any]:
    await db.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    await db.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
    await db.execute(f"DROP TABLE IF EXISTS {table}")
    started = time.perf_counter()
    await db.execute(f"CREATE TABLE {table} (n int PRIMARY KEY, ext text, title text, body text)")
    schema, name = table.split(".")
    batch: list[tuple[int, str, str, str]] = []
    for n, article in enumerate(read_corpus(corpus)):
        batch.append((n, str(article["id"]), str(article["title"]), str(article["body"])))
        if len(batch) == 50_000:
            await db.copy_records_to_table(name, schema_name=schema, records=batch)
            batch = []
    if batch:
        await db.copy_records_to_table(name, schema_name=schema, records=batch)
    load = time.perf_counter() - started
    started = time.perf_counter()
    await db.execute(f"CREATE INDEX {name}_trgm ON {table} USING gin (title gin_trgm_ops)")
    trgm = time.perf_counter() - started
    started = time.perf_counter()
    await db.execute(
        f"ALTER TABLE {table} ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('simple', title), 'A') || "
        "setweight(to_tsvector('simple', body), 'B')) STORED"
    )
    await db.execute(f"CREATE INDEX {name}_tsv ON {table} USING gin (tsv)")
    fts = time.perf_counter() - started
    await db.execute(f"ANALYZE {table}")

    async def size(index: str) -> float:
        return float(await db.fetchval("SELECT pg_relation_size($1)", f"{schema}.{index}")) / 1e6

    return {
        "load_s": load,
        "trgm_build_s": trgm,
        "fts_build_s": fts,
        "trgm_index_mb": await size(f"{name}_trgm"),
        "fts_index_mb": await size(f"{name}_tsv"),
    }


# -- freshness: how soon other processes find a stored article ---------------------


def freshness(job: dict[str, Any]) -> dict[str, Any]:
    """Store probe articles in this process while followers, each a process with an index
    of its own, search for them; then delete them. Delays are from commit to found/gone."""
    probes = Path(job["work"]) / "probes.jsonl"
    probes.parent.mkdir(parents=True, exist_ok=True)
    probes.write_text("")
    followers = []
    ready = [probes.with_suffix(f".ready{i}") for i in range(len(job["index_dirs"]))]
    for i, index_dir in enumerate(job["index_dirs"]):
        ready[i].unlink(missing_ok=True)
        follower_job = Path(job["work"]) / f"follower-{i}.json"
        follower_job.write_text(
            json.dumps(
                {
                    "url": job["url"],
                    "index_dir": index_dir,
                    "probes": str(probes),
                    "ready": str(ready[i]),
                }
            )
        )
        followers.append(
            subprocess.Popen(
                [sys.executable, "-m", "bench.scale_engines", "follow", str(follower_job)],
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
        )
    while not all(path.exists() for path in ready):
        if any(f.poll() is not None for f in followers):
            raise RuntimeError("a follower died before it was ready")
        time.sleep(0.1)
    asyncio.run(_write_probes(job["url"], probes, int(job.get("count", 20))))
    delays = [json.loads(f.communicate(timeout=600)[0]) for f in followers]
    for path in ready:
        path.unlink()
    return {"followers": delays}


async def _write_probes(url: str, probes: Path, count: int) -> None:
    import random
    from datetime import UTC, datetime

    from services.ingest import IngestService
    from services.parsing import RawArticle
    from storage.articles import ArticleRepository
    from storage.db import create_engine, create_session_factory

    engine = create_engine(url)
    sessions = create_session_factory(engine)
    ingest = IngestService(sessions, clock=lambda: datetime.now(UTC))
    rng = random.Random()
    stored: list[tuple[int, str]] = []
    with probes.open("a") as out:
        for _ in range(count):
            word = "probe" + "".join(rng.choice("bcdfghjkmnpqrstvwxz") for _ in range(10))
            article = RawArticle(title=f"Freshness {word}", body=f"A probe article {word}.")
            report = await ingest.ingest([(article, "bench")])
            out.write(json.dumps({"word": word, "stored": time.time()}) + "\n")
            out.flush()
            stored.append((report.added_ids[0], word))
            await asyncio.sleep(rng.uniform(0.2, 0.6))
        for article_id, word in stored:
            async with sessions.begin() as session:
                await ArticleRepository(session).delete(article_id, datetime.now(UTC))
            out.write(json.dumps({"word": word, "deleted": time.time()}) + "\n")
            out.flush()
            await asyncio.sleep(rng.uniform(0.2, 0.6))
        out.write(json.dumps({"end": True}) + "\n")
    await engine.dispose()


def _touch(path: Path) -> None:
    path.touch()


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def follow(job: dict[str, Any]) -> dict[str, Any]:
    """A bot-like process: catch up twice a second, and look for each probe until found."""
    return asyncio.run(_follow(job))


async def _follow(job: dict[str, Any]) -> dict[str, Any]:
    from bot.runtime import Runtime
    from bot.settings import Settings

    started = time.perf_counter()
    runtime = await Runtime.open(
        Settings(database_url=job["url"], search_index_dir=Path(job["index_dir"]))
    )
    opened = time.perf_counter() - started
    probes = Path(job["probes"])
    _touch(Path(job["ready"]))

    catch_ups: list[float] = []

    async def keep_up() -> None:
        # Like the bot's job queue: a catch-up every 0.5 s (INDEX_FOLLOW_SECONDS), skipped
        # while the previous one still runs.
        tick = time.perf_counter()
        while True:
            began = time.perf_counter()
            await runtime.follower.catch_up()
            catch_ups.append((time.perf_counter() - began) * 1000)
            tick += 0.5
            while tick < time.perf_counter():
                tick += 0.5
            await asyncio.sleep(tick - time.perf_counter())

    follower = asyncio.create_task(keep_up())
    found: list[float] = []
    gone: list[float] = []
    seen = 0
    try:
        while True:
            lines = _lines(probes)
            if seen == len(lines):
                await asyncio.sleep(0.01)
                continue
            event = json.loads(lines[seen])
            seen += 1
            if event.get("end"):
                break
            want = "stored" in event
            while True:
                page = await runtime.services.search.search(event["word"], limit=3)
                present = any(event["word"] in hit.article.title for hit in page.hits)
                if present == want:
                    break
                await asyncio.sleep(0.025)
            delay = time.time() - event["stored" if want else "deleted"]
            (found if want else gone).append(delay * 1000)
    finally:
        follower.cancel()
        await runtime.close()
    catch_ups.sort()
    return {
        "open_s": opened,
        "found_ms": found,
        "deleted_ms": gone,
        "catch_up_ms": [statistics.median(catch_ups), catch_ups[-1]],
    }


ENGINES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "newsbot": newsbot,
    "rapidfuzz": rapidfuzz_extract,
    "fts5": sqlite_fts5,
    "postgres": postgres,
    "freshness": freshness,
    "follow": follow,
}


async def _postgres_database(name: str, *, fresh: bool) -> str:
    """The SQLAlchemy URL of a PostgreSQL database of this name, created (or emptied)."""
    import asyncpg

    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and fresh:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if fresh or not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = POSTGRES_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def main() -> int:
    engine, job_file = sys.argv[1], Path(sys.argv[2])
    sys.path.insert(0, str(ROOT))
    job = json.loads(job_file.read_text())
    print(json.dumps(ENGINES[engine](job)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
