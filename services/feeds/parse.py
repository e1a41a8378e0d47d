"""RSS 0.9x/1.0/2.0 and Atom feeds into raw articles, with feedparser. Never raises.

Per entry: guid (id/guid, else the canonical link, else a hash of title and summary),
title (markup removed, entities decoded; else the body's first sentence), body (the
fullest of content and summary, as paragraphs), url (resolved against xml:base and the
feed's URL, http(s) only), published (published, updated or created, aware UTC; none when
more than a day in the future). What cannot be used is reported in ``problems``. The feed's
own site address (RSS channel link, Atom alternate link) is kept when it is a usable
http(s) URL: it is only exported (OPML htmlUrl), never fetched.
"""

from __future__ import annotations

import calendar
import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urljoin
from xml.sax import SAXParseException

import feedparser

from services.feeds.text import detail_line, detail_text
from services.parsing.dates import parse_datetime
from services.parsing.results import RawArticle
from services.sentences import split_sentences
from services.text import clean_title
from services.urls import canonicalize_url, is_http_url

FUTURE_TOLERANCE = timedelta(days=1)
# What the feeds table keeps of a site address; a longer one is dropped, not cut short.
MAX_SITE_URL_LENGTH = 2048
DERIVED_TITLE_MAX_CHARS = 150
GUID_MAX_CHARS = 500  # longer ones are replaced by their hash
_DATE_KEYS = ("published", "updated", "created")
# Bozo reasons that say nothing about the feed's content.
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)

# "feed": a feed document, however empty or flawed; "not_a_feed": no feed at all (an HTML
# page, an empty body, JSON): its one problem says why, for a human.
DocumentKind = Literal["feed", "not_a_feed"]


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One usable entry: the feed's id for it and the article it becomes."""

    guid: str
    article: RawArticle  # external_id is None: the caller derives it from feed and guid


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    entries: list[FeedEntry]
    problems: list[str]  # for a human: "entry 3: duplicate guid 'x'; kept the first"
    site_url: str | None = None  # the site the feed belongs to, as it says
    kind: DocumentKind = "feed"  # what callers branch on; never the problems' wording


def parse_feed(
    body: bytes, *, base_url: str, source: str | None = None, now: datetime | None = None
) -> ParsedFeed:
    """Parse a feed document; a document that is no feed has no entries and one problem."""
    if not body.strip():
        return _not_a_feed("the response is empty")
    headers = {"content-location": base_url, "content-type": "application/xml"}
    try:
        # A file object, never bytes: feedparser would try to open bytes as a file name.
        # Only text is kept from HTML, so sanitising it and resolving its links (a third of
        # the time) are wasted; scripts and styles are dropped with their text later.
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser is lenient, but one feed must not stop the poller
        return _not_a_feed(f"it could not be read ({type(exc).__name__})")
    malformed = _malformed(parsed)
    title = clean_title(detail_line(*_detail(parsed.feed, "title"))) or None
    problems = [f"the feed is not well-formed ({malformed}); read leniently"] if malformed else []
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    moment = now or datetime.now(UTC)
    for number, raw in enumerate(parsed.entries, start=1):
        try:
            entry = _entry(raw, base_url, title if source is None else source, moment)
        except Exception as exc:  # an odd entry is reported, the rest still count
            entry = f"could not be read ({type(exc).__name__})"
        if isinstance(entry, str):
            problems.append(f"entry {number}: {entry}")
        elif entry.guid in seen:
            problems.append(f"entry {number}: duplicate guid {entry.guid[:80]!r}; kept the first")
        else:
            seen.add(entry.guid)
            entries.append(entry)
    if not entries and (malformed or not _get(parsed, "version")):
        return _not_a_feed(_html_page(body) or malformed or "no RSS or Atom element found")
    site = site_address(str(_get(parsed.feed, "link") or ""), base_url)
    return ParsedFeed(title, entries, problems, site)


def site_address(link: str | None, base_url: str | None = None) -> str | None:
    """A site's address fit to keep: absolute http(s) (resolved against ``base_url``), and
    short enough for the feeds table; None otherwise. Used for display and export only."""
    link = " ".join((link or "").split())
    if not link:
        return None
    url = urljoin(base_url, link) if base_url else link
    return url if len(url) <= MAX_SITE_URL_LENGTH and is_http_url(url) else None


def _entry(
    raw: Mapping[str, Any], base_url: str, source: str | None, now: datetime
) -> FeedEntry | str:
    """The entry as a FeedEntry, or the reason it cannot be one."""
    title = clean_title(detail_line(*_detail(raw, "title")))
    bodies = [detail_text(*_detail(raw, "summary"))]
    for content in _get(raw, "content") or []:
        bodies.append(detail_text(str(_get(content, "value") or ""), _get(content, "type")))
    body = max(bodies, key=len)
    if not title and not body:
        return "no title and no text; skipped"
    lead, _, rest = body.partition("\n\n")
    if title and lead.casefold() == title.casefold():  # the content repeats its headline
        body = rest
    if not title:
        sentences = split_sentences(lead)
        title = clean_title(sentences[0] if sentences else body, DERIVED_TITLE_MAX_CHARS)
    url = _url(raw, base_url)
    article = RawArticle(
        title=title, body=body, url=url, source=source, published_at=_published(raw, now)
    )
    return FeedEntry(_guid(raw, url, title), article)


def _detail(item: Mapping[str, Any], key: str) -> tuple[str, str | None]:
    """A text construct's value and its content type (plain, HTML or XHTML)."""
    detail = _get(item, f"{key}_detail") or {}
    return str(_get(item, key) or ""), _get(detail, "type")


def _get(item: Mapping[str, Any], key: str) -> Any:
    """item[key] or None, bypassing FeedParserDict's aliases (which warn, and mislead)."""
    return dict.get(item, key) if isinstance(item, dict) else item.get(key)


def _url(raw: Mapping[str, Any], base_url: str) -> str | None:
    link = str(_get(raw, "link") or "").strip()
    if not link:
        return None
    url = urljoin(base_url, link)  # feedparser resolved xml:base; this catches the rest
    return url if is_http_url(url) else None


def _guid(raw: Mapping[str, Any], url: str | None, title: str) -> str:
    guid = str(_get(raw, "id") or "").strip()
    if not guid:
        guid = (canonicalize_url(url) if url else None) or ""
    if not guid or len(guid) > GUID_MAX_CHARS:
        seed = guid or f"{title}\n{_get(raw, 'summary') or ''}"
        guid = "sha256:" + hashlib.sha256(seed.encode("utf-8", "replace")).hexdigest()
    return guid


def _published(raw: Mapping[str, Any], now: datetime) -> datetime | None:
    """The first date of the entry that is not far in the future."""
    for key in _DATE_KEYS:
        moment = _struct_time(_get(raw, f"{key}_parsed")) or parse_datetime(_get(raw, key))
        if moment is not None and moment <= now + FUTURE_TOLERANCE:
            return moment
    return None


def _struct_time(value: object) -> datetime | None:
    """feedparser's parsed date (a UTC struct_time) as an aware datetime."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _malformed(parsed: Mapping[str, Any]) -> str | None:
    """Why feedparser found the document broken, or None when it is well-formed."""
    exc = _get(parsed, "bozo_exception")
    if not _get(parsed, "bozo") or exc is None or isinstance(exc, _HARMLESS):
        return None
    if isinstance(exc, SAXParseException):
        return f"{exc.getMessage()} at line {exc.getLineNumber()}"
    return str(exc) or type(exc).__name__


def _html_page(body: bytes) -> str | None:
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<!doctype html") or b"<html" in head:
        return "it is an HTML page (the site's address rather than its feed's?)"
    return None


def _not_a_feed(reason: str) -> ParsedFeed:
    return ParsedFeed(None, [], [f"not a feed: {reason}"], kind="not_a_feed")
