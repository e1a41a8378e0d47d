"""parse_file picks the parser by extension."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.parsing import RawArticle, parse_file

JSON_LINE = json.dumps({"title": "From JSON", "body": "Body."})
HTML_PAGE = "<html><head><title>From HTML</title></head><body><p>Body.</p></body></html>"


@pytest.mark.parametrize(
    ("name", "content", "title"),
    [
        ("a.jsonl", JSON_LINE, "From JSON"),
        ("a.NDJSON", JSON_LINE, "From JSON"),
        ("a.html", HTML_PAGE, "From HTML"),
        ("a.HTM", HTML_PAGE, "From HTML"),
        # Anything else is plain text, so the raw markup/JSON becomes the title line.
        ("a.txt", HTML_PAGE + "\nBody.", HTML_PAGE),
        ("a.json", JSON_LINE + "\nBody.", JSON_LINE),
        ("no_extension", "Plain\nBody.", "Plain"),
    ],
)
def test_dispatch_by_extension(tmp_path: Path, name: str, content: str, title: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    [article] = parse_file(path)

    assert isinstance(article, RawArticle)
    assert article.title == title
    assert article.body == "Body."
