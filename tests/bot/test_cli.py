from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.cli import _ingest_async, _search_async, main
from bot.settings import Settings

ARTICLES = [
    {
        "id": "wire-1",
        "title": "Volcano erupts near Reykjavik",
        "body": "Lava flowed toward the town. Residents left at night.",
    },
    {
        "id": "wire-2",
        "title": "Central bank raises rates",
        "body": "The bank raised rates by half a point. Markets fell.",
    },
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", search_index_dir=tmp_path / "idx"
    )


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "articles.jsonl"
    lines = [json.dumps(a) for a in ARTICLES] + ["{not json", json.dumps({"title": "No body"})]
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_ingest_reports_counts_and_each_rejection(settings: Settings, jsonl: Path) -> None:
    out = io.StringIO()
    assert await _ingest_async(settings, [jsonl], out, io.StringIO()) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("added 2, updated 0, skipped 0, rejected 2")
    assert lines[1].startswith(f"rejected {jsonl}:") and "line 3" in lines[1]
    assert "line 4" in lines[2]

    again = io.StringIO()
    await _ingest_async(settings, [jsonl], again, io.StringIO())
    assert again.getvalue().startswith("added 0, updated 0, skipped 2, rejected 2")


async def test_search_json_and_stdin_mode(
    settings: Settings, jsonl: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _ingest_async(settings, [jsonl], io.StringIO(), io.StringIO())
    await _search_async(settings, "volcno reykjavk", 5, True, io.StringIO())
    (hit, *_) = json.loads(capsys.readouterr().out)
    assert hit["id"] == "wire-1"
    assert set(hit) == {"id", "title", "url", "summary", "published", "score"}

    await _search_async(settings, "-", 3, True, io.StringIO("bank rates\nvolcano\n\n"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [hits[0]["id"] if hits else None for hits in lines] == ["wire-2", "wire-1", None]


def test_summarize_prints_one_json_line_per_record(
    jsonl: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summarize", str(jsonl)]) == 1  # two bad lines
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["id"] for r in records] == ["wire-1", "wire-2"]
    assert records[0]["summary"].startswith("Lava flowed")
    assert "line 3" in captured.err


def test_summarize_plain_text_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    story = tmp_path / "story.txt"
    story.write_text("Harbour reopens\nThe harbour reopened on Monday after repairs.\n")
    assert main(["summarize", str(story)]) == 0
    assert capsys.readouterr().out.strip() == "The harbour reopened on Monday after repairs."


def test_seed_article_summary_has_no_appeal(
    seed_article: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["summarize", str(seed_article)])
    summary = capsys.readouterr().out
    assert "Obama" in summary and "supreme leader" in summary and "nuclear deal" in summary
    assert "CEO" not in summary and "Forward" not in summary and len(summary.strip()) <= 400
