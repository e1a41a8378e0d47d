"""Time ``newsbot ingest`` on N synthetic JSON Lines articles (default 100,000).

Usage: python -m bench.ingest [N]

Prints the wall time and rate of a full load (parse, clean, summarise, deduplicate, store in
SQLite, index) next to the baseline measured in the same run: parsing the same file alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.corpus import Vocabulary, articles
from services.parsing import parse_file

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as workdir:
        data = Path(workdir) / "articles.jsonl"
        with data.open("w") as out:
            for article in articles(Vocabulary.load(), count):
                out.write(json.dumps(article) + "\n")
        size_mb = data.stat().st_size / 1e6

        started = time.perf_counter()
        parsed = sum(1 for _ in parse_file(data))
        parse_seconds = time.perf_counter() - started

        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench.db",
            "PYTHONPATH": str(ROOT),
        }
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "bot", "ingest", str(data)],
            env=env,
            capture_output=True,
            text=True,
        )
        ingest_seconds = time.perf_counter() - started
        if result.returncode != 0:
            print(result.stdout, result.stderr)
            return 1
    print(f"{count:,} articles, {size_mb:.0f} MB of JSON Lines, {os.cpu_count()} cores")
    print(f"{'step':<40}{'seconds':>9}{'articles/s':>12}")
    print(f"{'baseline: parse only':<40}{parse_seconds:>9.1f}{parsed / parse_seconds:>12,.0f}")
    print(
        f"{'newsbot ingest (store, summary, index)':<40}"
        f"{ingest_seconds:>9.1f}{count / ingest_seconds:>12,.0f}"
    )
    print(f"ratio ingest/parse time: {ingest_seconds / parse_seconds:.1f}")
    print(result.stdout.strip().splitlines()[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
