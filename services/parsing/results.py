"""What the parsers produce: raw articles, or rejections explaining what was skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RawArticle:
    """An article as read from a file, cleaned up but not yet stored or deduplicated.

    Text is plain text: markup in a title such as ``<b>Hi</b>`` is kept literally and
    must be escaped when rendered.
    """

    title: str
    body: str
    url: str | None = None
    source: str | None = None
    published_at: datetime | None = None  # aware, UTC
    summary: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """Something in an input file that could not become an article, and why."""

    location: str  # e.g. "feeds.jsonl:12" or "page.html"
    reason: str  # a short sentence for a human, e.g. "missing title"
