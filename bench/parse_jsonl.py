"""How fast JSON Lines files parse, and how little memory streaming them takes.

Usage, from the repository root: python -m bench.parse_jsonl [RECORDS]

Times parse_file over RECORDS (default 100,000) generated records, then over the
development corpus (../shared/data/articles.jsonl, when present) repeated up to as many
lines. The files live in a temporary directory that is removed afterwards.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from services.parsing import RawArticle, parse_file

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "articles.jsonl"
_WORDS = ("market", "council", "river", "budget", "storm", "election", "museum", "harvest")


def generated_lines(count: int) -> Iterator[str]:
    """Synthetic records of about 2 KB with every field filled in."""
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
        yield json.dumps(record) + "\n"


def corpus_lines(count: int) -> Iterator[str]:
    """The corpus lines, repeated until there are ``count`` of them."""
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for line in itertools.islice(itertools.cycle(lines), count):
        yield line + "\n"


def measure(name: str, lines: Iterator[str], tmp: Path) -> None:
    """Write the lines to a file, then time one pass and trace memory in a second one."""
    path = tmp / f"{name}.jsonl"
    with path.open("w", encoding="utf-8") as out:
        out.writelines(lines)
    start = time.perf_counter()
    articles = total = 0
    for item in parse_file(path):
        total += 1
        articles += isinstance(item, RawArticle)
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    for _ in parse_file(path):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    size = path.stat().st_size
    print(
        f"{name}: {articles:,} articles of {total:,} items, {size / 1e6:.0f} MB, "
        f"{elapsed:.2f} s = {total / elapsed:,.0f} records/s; "
        f"peak traced memory {peak / 1e6:.2f} MB"
    )


def main() -> None:
    """Run the generated and (when present) the corpus measurement."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        measure("generated", generated_lines(count), Path(tmp))
        if CORPUS.exists():
            measure("corpus", corpus_lines(count), Path(tmp))
        else:
            print(f"corpus: skipped, {CORPUS} not found")


if __name__ == "__main__":
    main()
