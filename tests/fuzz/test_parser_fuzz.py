"""What users type and what files hold: every parser answers, none raises."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from services.alerts.keywords import MAX_KEYWORDS, parse_keywords
from services.alerts.schedule import parse_quiet, parse_timezone
from services.feeds.parse import parse_feed
from services.ingest import prepare
from services.parsing import RawArticle, Rejected, parse_file
from services.parsing.dates import parse_datetime
from services.query import MAX_QUERY_CHARS, MAX_QUERY_WORDS, parse_query
from services.urls import canonicalize_url
from tests.fuzz.strategies import huge_number, long_text, odd_text, urls, words

ZONES = sorted(available_timezones())
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats()
    | odd_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
    max_leaves=6,
)
dates = st.one_of(
    huge_number,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["2014-02-30", "0000-00-00", "9999-12-31T23:59:60Z", "Tue, 31 Feb 2015"]),
    st.datetimes().map(datetime.isoformat),
    odd_text,
)


@given(st.one_of(words, long_text))
@example('"unclosed phrase -  source: since:2014-13-01 before:99999-01-01 -')
@example("since:0001-01-01 before:9999-12-31 " * 30)
def test_search_queries(raw: str) -> None:
    parsed = parse_query(raw)
    assert len(parsed.text) <= MAX_QUERY_CHARS
    assert len(parsed.words) <= MAX_QUERY_WORDS
    assert all(parsed.words)


@given(st.one_of(words, long_text))
@example("- -- -x -" + " obama" * 50)
def test_subscription_words(raw: str) -> None:
    keywords = parse_keywords(raw)
    assert len(keywords.include) <= MAX_KEYWORDS and len(keywords.exclude) <= MAX_KEYWORDS
    assert all(keywords.include) and all(keywords.exclude)


@given(st.one_of(odd_text, st.from_regex(r"[0-9:.h–-]{0,12}", fullmatch=True), huge_number))
@example("24:00-07:00")
@example("22:00-22:00")
@example("9" * 5000 + ":00-07:00")
def test_quiet_hours(raw: str) -> None:
    window = parse_quiet(raw)
    if window is not None:
        start, end = window
        assert 0 <= start < 1440 and 0 <= end < 1440 and start != end


@given(st.one_of(odd_text, long_text))
@example("../../etc/passwd")
@example("Europe/")
@example("Europe")
@example("\x00")
@example("posixrules")
def test_unknown_time_zones_are_refused_not_raised(raw: str) -> None:
    zone = parse_timezone(raw)
    if zone is not None:
        assert ZoneInfo(zone).key == zone


@given(st.sampled_from(ZONES), st.randoms())
def test_every_zone_is_understood_in_any_case(zone: str, rng: Any) -> None:
    typed = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in zone)
    found = parse_timezone(typed)
    assert found is not None and found.lower() == zone.lower()


@given(dates)
def test_dates(value: object) -> None:
    moment = parse_datetime(value)
    assert moment is None or moment.tzinfo is not None


@given(urls)
def test_urls(url: str | None) -> None:
    if url is not None:
        canonical = canonicalize_url(url)
        assert canonical is None or canonical.startswith(("http://", "https://"))


def check_articles(results: list[RawArticle | Rejected], *, body_required: bool = True) -> None:
    """Each result is an article that ingest can prepare, or a rejection with a reason."""
    for result in results:
        if isinstance(result, Rejected):
            assert result.reason and result.location
            continue
        assert result.title.strip() and (result.body.strip() or not body_required)
        prepared = prepare(result, "fuzz")
        assert isinstance(prepared, Rejected) or prepared.values["title"]


records = st.dictionaries(
    st.sampled_from(["id", "title", "body", "url", "published", "source", "summary", "x"]),
    st.one_of(json_values, dates, urls, long_text),
)


@given(st.lists(st.one_of(records.map(json.dumps), odd_text, st.binary(max_size=40)), max_size=8))
def test_json_lines_files(tmp_path: Path, lines: list[str | bytes]) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines))
    check_articles(list(parse_file(path)))


def page(title: str, meta: str, body: str, date: str) -> str:
    return (
        f"<html><head><title>{title}</title><meta property='og:title' content='{meta}'>"
        f"<meta property='article:published_time' content='{date}'>"
        f'<script type="application/ld+json">{{"datePublished": "{date}"}}</script></head>'
        f"<body><nav>{meta}</nav><article><h1>{title}</h1><p>{body}</p><p>{body}</p>"
        f"</article></body></html>"
    )


html_documents = st.one_of(
    st.builds(page, odd_text, odd_text, long_text, st.one_of(dates.map(str), odd_text)),
    long_text,
    st.binary(max_size=2000).map(lambda b: b.decode("latin-1")),
)


@pytest.mark.parametrize("suffix", [".html", ".txt"])
@given(document=html_documents)
def test_html_and_text_files(tmp_path: Path, suffix: str, document: str) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_text(document, encoding="utf-8", errors="surrogatepass")
    check_articles(list(parse_file(path)))


def rss(title: str, link: str, date: str, description: str, guid: str) -> bytes:
    item = (
        f"<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate>"
        f"<description>{description}</description><guid>{guid}</guid></item>"
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{item * 2}</channel></rss>'.encode(
        "utf-8", "surrogatepass"
    )


def atom(title: str, link: str, date: str, summary: str) -> bytes:
    entry = (
        f'<entry><title type="html">{title}</title><link href="{link}"/><updated>{date}</updated>'
        f"<summary>{summary}</summary></entry>"
    )
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title>{entry}</feed>'
    ).encode("utf-8", "surrogatepass")


text_or_none = urls.map(lambda u: u or "")
feed_texts = st.one_of(odd_text, st.text(max_size=500))  # feedparser is slow on long junk
feed_documents = st.one_of(
    st.builds(rss, odd_text, text_or_none, dates.map(str), feed_texts, odd_text),
    st.builds(atom, odd_text, text_or_none, dates.map(str), feed_texts),
    st.binary(max_size=1000),
)


@given(feed_documents)
def test_feed_files(body: bytes) -> None:
    feed = parse_feed(
        body, base_url="https://feeds.example/rss", now=datetime(2026, 1, 1, tzinfo=UTC)
    )
    for entry in feed.entries:
        assert entry.guid
        check_articles([entry.article], body_required=False)  # ingest rejects title-only
