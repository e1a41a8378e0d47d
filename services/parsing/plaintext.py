"""Plain text articles: the first non-empty line is the title, every later line a paragraph.

Hard-wrapped text is not re-joined: each line stays its own paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from services.parsing.decoding import DocumentError, read_document
from services.parsing.results import RawArticle, Rejected
from services.text import clean_title, join_paragraphs

# "# Title" in Markdown; "#hashtag" (no space) is left alone.
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")


def parse_plaintext(path: Path) -> Iterator[RawArticle | Rejected]:
    """Read one article from a text file (Markdown heading marks are dropped in .md files)."""
    try:
        text = read_document(path)
    except DocumentError as exc:
        yield Rejected(str(path), str(exc))
        return
    yield article_from_text(text, str(path), markdown=path.suffix.lower() == ".md")


def article_from_text(text: str, location: str, *, markdown: bool = False) -> RawArticle | Rejected:
    """Split decoded text into title and paragraphs."""
    lines = iter(text.splitlines())
    title = ""
    for line in lines:
        if markdown:
            line = _MARKDOWN_HEADING.sub("", line.strip())
        title = clean_title(line)
        if title:
            break
    if not title:
        return Rejected(location, "empty file")
    if markdown:
        body = join_paragraphs(_MARKDOWN_HEADING.sub("", line.strip()) for line in lines)
    else:
        body = join_paragraphs(lines)
    if not body:
        return Rejected(location, "only a title, no story")
    return RawArticle(title=title, body=body)
