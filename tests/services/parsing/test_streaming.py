"""A large JSON Lines file is streamed, never read whole into memory."""

from __future__ import annotations

import json
import tracemalloc
import types
from pathlib import Path

from services.parsing import RawArticle, Rejected, parse_file

RECORDS = 100_000


def _write_big_file(path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(RECORDS):
            body = f"Paragraph one of generated story {i}, padded with filler words. " * 3
            record = {"id": i, "title": f"Generated story {i}", "body": body}
            if i % 10_000 == 5:
                out.write("{broken json\n")
            out.write(json.dumps(record) + "\n")


def test_100k_lines_are_streamed(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    _write_big_file(path)
    file_size = path.stat().st_size

    items = parse_file(path)
    assert isinstance(items, types.GeneratorType)

    tracemalloc.start()
    try:
        articles = rejected = 0
        last_id = None
        for item in items:
            if isinstance(item, RawArticle):
                articles += 1
                last_id = item.external_id
            else:
                assert isinstance(item, Rejected)
                rejected += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert (articles, rejected, last_id) == (RECORDS, 10, str(RECORDS - 1))
    # Holding the file (or the parsed records) would need tens of megabytes.
    assert file_size > 20_000_000
    assert peak < file_size / 20
