"""Finding the feeds a web page names: ``<link rel="alternate" type="application/rss+xml">``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

import lxml.etree  # type: ignore[import-untyped]
import lxml.html  # type: ignore[import-untyped]

from services.text import clean_title
from services.urls import is_http_url

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml"}
)
MAX_CANDIDATES = 8  # one button each; a page naming more is unusual


@dataclass(frozen=True, slots=True)
class FeedCandidate:
    url: str
    title: str | None
    site_url: str | None = None  # the site it belongs to, when something said (OPML htmlUrl)


def feed_links(body: bytes, base_url: str) -> list[FeedCandidate]:
    """The feeds an HTML page links to as alternates, in page order, without repeats."""
    try:
        document = lxml.html.document_fromstring(body)
    except (lxml.etree.ParserError, ValueError):  # empty, or nothing an HTML parser reads
        return []
    base = document.xpath("string(//base/@href)").strip()
    base_url = urljoin(base_url, base) if base else base_url
    found: list[FeedCandidate] = []
    seen: set[str] = set()
    for link in document.xpath("//link[@href]"):
        rel = str(link.get("rel", "")).lower().split()
        kind = str(link.get("type", "")).lower().partition(";")[0].strip()
        if "alternate" not in rel or kind not in FEED_TYPES:
            continue
        url = urljoin(base_url, str(link.get("href")).strip())
        if not is_http_url(url) or url in seen or len(url) > 2048:
            continue
        seen.add(url)
        title = clean_title(str(link.get("title") or "")) or None
        found.append(FeedCandidate(url, title[:200] if title else None))
        if len(found) == MAX_CANDIDATES:
            break
    return found
