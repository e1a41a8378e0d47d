"""Telegram-free parsing: files (JSON Lines, HTML, plain text) into raw articles.

Nothing here raises for bad input: what cannot become an article is yielded as a
Rejected with a location and a reason, and the rest of the file carries on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from services.parsing.html import parse_html
from services.parsing.jsonl import parse_jsonl
from services.parsing.plaintext import parse_plaintext
from services.parsing.results import RawArticle, Rejected

__all__ = ["RawArticle", "Rejected", "parse_file"]

_JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
_HTML_SUFFIXES = frozenset({".html", ".htm"})


def parse_file(path: Path) -> Iterator[RawArticle | Rejected]:
    """Stream the articles of a file, choosing the format by extension (text by default)."""
    suffix = path.suffix.lower()
    if suffix in _JSONL_SUFFIXES:
        return parse_jsonl(path)
    if suffix in _HTML_SUFFIXES:
        return parse_html(path)
    return parse_plaintext(path)
