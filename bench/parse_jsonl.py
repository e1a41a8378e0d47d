"""Measure JSON Lines parsing speed on generated records (no corpus needed).

Usage: python bench/parse_jsonl.py [RECORDS]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from services.parsing import RawArticle, parse_file

_WORDS = [
    "market",
    "council",
    "river",
    "budget",
    "storm",
    "election",
    "museum",
    "engine",
    "harvest",
    "treaty",
]


def write_records(path: Path, count: int) -> None:
    """Write ``count`` synthetic article records, about 1.5 KB each."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            words = [_WORDS[(i * 7 + k) % len(_WORDS)] for k in range(240)]
            record = {
                "id": f"gen-{i}",
                "title": f"  Generated  story {i} about the {_WORDS[i % len(_WORDS)]} ",
                "body": " ".join(words[:120]) + ".\n\n" + " ".join(words[120:]) + ".",
                "summary": " ".join(words[:30]),
                "url": f"https://news.example.com/story/{i}?utm_source=bench",
                "published": f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:15:00+01:00",
                "source": "Bench Daily",
            }
            out.write(json.dumps(record) + "\n")


def main() -> None:
    """Generate, parse twice (timed, then under tracemalloc) and print the figures."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.jsonl"
        write_records(path, count)
        size = path.stat().st_size
        start = time.perf_counter()
        parsed = sum(isinstance(item, RawArticle) for item in parse_file(path))
        elapsed = time.perf_counter() - start
        tracemalloc.start()
        for _ in parse_file(path):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"{parsed:,} of {count:,} records, file {size / 1e6:.1f} MB")
    print(f"{elapsed:.2f} s, {parsed / elapsed:,.0f} records/s")
    print(f"peak traced memory while streaming: {peak / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
