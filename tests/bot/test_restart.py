"""Restarting newsbot keeps its search index: real processes, one after another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def newsbot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}",
        "SEARCH_INDEX_DIR": str(tmp_path / "idx"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "rebuilding" not in done.stderr
    return done


def segments(tmp_path: Path) -> set[str]:
    meta = json.loads((tmp_path / "idx" / "meta.json").read_text())
    return {segment["segment_id"] for segment in meta["segments"]}


def write_articles(path: Path, *titles: str) -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": title.lower(), "title": title, "body": f"{title}. More later."})
            + "\n"
            for title in titles
        )
    )
    return path


def test_a_restart_reuses_the_index_and_applies_only_what_is_new(tmp_path: Path) -> None:
    first = write_articles(
        tmp_path / "first.jsonl", "Volcano erupts near Reykjavik", "Central bank raises rates"
    )
    newsbot(tmp_path, "ingest", str(first))
    indexed = segments(tmp_path)
    state = (tmp_path / "idx" / "newsbot-state.json").read_text()

    for _ in range(2):  # each search is a fresh process on the index the last one left
        hits = json.loads(newsbot(tmp_path, "search", "volcno", "--json").stdout)
        assert [hit["id"] for hit in hits] == ["volcano erupts near reykjavik"]
        assert segments(tmp_path) == indexed
        assert (tmp_path / "idx" / "newsbot-state.json").read_text() == state

    newsbot(tmp_path, "ingest", str(write_articles(tmp_path / "more.jsonl", "Glacier calves")))
    hits = json.loads(newsbot(tmp_path, "search", "glacier", "--json").stdout)
    assert [hit["id"] for hit in hits] == ["glacier calves"]
    # The new article went into a segment of its own beside the old ones: no rebuild.
    grown = segments(tmp_path)
    assert indexed < grown and len(grown) == len(indexed) + 1
