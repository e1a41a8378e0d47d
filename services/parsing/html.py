"""HTML pages: title, link, date and site from the page's metadata, story from its body.

Title: og:title, else the article's <h1>, JSON-LD headline, <title>, any <h1>, with a
" | Site name" affix removed when it is the og:site_name. Link: <link rel=canonical>, else
og:url. Date: article:published_time, else <time datetime>, else JSON-LD datePublished.
The story text itself is found by services.parsing.story.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import lxml.etree  # type: ignore[import-untyped]
import lxml.html  # type: ignore[import-untyped]

from services.parsing.dates import parse_datetime
from services.parsing.decoding import DocumentError, read_document
from services.parsing.results import RawArticle, Rejected
from services.parsing.story import story_text
from services.text import clean_title, normalize_whitespace, strip_junk_chars
from services.urls import is_http_url

_ARTICLE_H1 = "//article//h1 | //*[@itemprop='articleBody']//h1 | //main//h1"
_TITLE_SEPARATORS = (" | ", " - ", " \u2013 ", " \u2014 ", " :: ", " \u00b7 ", " \u2022 ")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def parse_html(path: Path) -> Iterator[RawArticle | Rejected]:
    """Read one article from an HTML page."""
    try:
        text = read_document(path, html=True)
    except DocumentError as exc:
        yield Rejected(str(path), str(exc))
        return
    yield article_from_html(text, str(path))


def article_from_html(text: str, location: str) -> RawArticle | Rejected:
    """Extract the article of an already decoded HTML page."""
    if not text.strip():
        return Rejected(location, "empty file")
    try:
        # lxml refuses str input that still carries an XML encoding declaration.
        doc = lxml.html.document_fromstring(_XML_DECLARATION.sub("", text))
    except (lxml.etree.ParserError, ValueError):
        return Rejected(location, "not an HTML page (no elements)")
    # Metadata first: finding the story text removes <head> scripts and <header>s.
    metas = _meta_tags(doc)
    site_name = normalize_whitespace(metas.get("og:site_name", "")) or None
    title = _title(doc, metas, site_name)
    if not title:
        return Rejected(location, "no title found")
    url = _url(doc, metas)
    published_at = _published(doc, metas)
    description = metas.get("og:description") or metas.get("description") or ""
    body = story_text(doc, title)
    if not body:
        return Rejected(location, "no article text found")
    return RawArticle(
        title=title,
        body=body,
        url=url,
        source=site_name,
        published_at=published_at,
        summary=normalize_whitespace(strip_junk_chars(description)) or None,
    )


# --- metadata ---------------------------------------------------------------------------


def _meta_tags(doc: Any) -> dict[str, str]:
    """The first non-empty content of each <meta> by property/name/itemprop, keys lowercased."""
    found: dict[str, str] = {}
    for meta in doc.iter("meta"):
        content = (meta.get("content") or "").strip()
        if not content:
            continue
        for attribute in ("property", "name", "itemprop"):
            # RDFa allows several space-separated names: property="og:title twitter:title".
            for key in (meta.get(attribute) or "").lower().split():
                found.setdefault(key, content)
    return found


def _title(doc: Any, metas: dict[str, str], site_name: str | None) -> str:
    candidates = (
        metas.get("og:title"),
        _text_of_first(doc, _ARTICLE_H1),
        _json_ld_value(doc, "headline"),
        _text_of_first(doc, "//title"),
        _text_of_first(doc, "//h1"),  # last: outside an article it is often the site's logo
    )
    for candidate in candidates:
        title = clean_title(candidate or "")
        if title:
            return _strip_site_name(title, site_name) if site_name else title
    return ""


def _strip_site_name(title: str, site_name: str) -> str:
    """Remove a " | Site name" suffix or "Site name | " prefix, ignoring case."""
    for separator in _TITLE_SEPARATORS:
        suffix, prefix = separator + site_name, site_name + separator
        # Slices of the title itself are compared: casefold() may change lengths ("ß").
        if len(title) > len(suffix) and _same(title[-len(suffix) :], suffix):
            return title[: -len(suffix)].strip()
        if len(title) > len(prefix) and _same(title[: len(prefix)], prefix):
            return title[len(prefix) :].strip()
    return title


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def _url(doc: Any, metas: dict[str, str]) -> str | None:
    canonicals = [
        (link.get("href") or "").strip()
        for link in doc.iter("link")
        if "canonical" in (link.get("rel") or "").lower().split()
    ]
    for candidate in [*canonicals, metas.get("og:url", "")]:
        if candidate and is_http_url(candidate):
            return candidate
    return None  # relative links cannot be resolved: a file has no base URL


def _published(doc: Any, metas: dict[str, str]) -> datetime | None:
    candidates = [metas.get("article:published_time"), metas.get("datepublished")]
    # A <time> in the article first: one in the page chrome may be "updated 5 minutes ago".
    candidates.extend(doc.xpath("//article//time/@datetime"))
    candidates.extend(doc.xpath("//time/@datetime"))
    candidates.append(_json_ld_value(doc, "datePublished"))
    for candidate in candidates:
        published = parse_datetime(candidate)
        if published is not None:
            return published
    return None


def _json_ld_value(doc: Any, key: str) -> str | None:
    """The first string value of ``key`` in any JSON-LD block, searching nested objects."""
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            pending = [json.loads(script.text or "")]
        except (ValueError, RecursionError):
            continue
        while pending:
            item = pending.pop(0)
            if isinstance(item, dict):
                value = item.get(key)
                if isinstance(value, str) and value.strip():
                    return value
                pending.extend(item.values())
            elif isinstance(item, list):
                pending.extend(item)
    return None


def _text_of_first(doc: Any, xpath: str) -> str | None:
    for element in doc.xpath(xpath):
        text = normalize_whitespace(element.text_content())
        if text:
            return text
    return None
