from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from html import unescape

from handlers.render import (
    MAX_MESSAGE_CHARS,
    deep_link,
    page_callback,
    parse_page_callback,
    render_article,
    render_latest,
    render_no_results,
    render_results,
)
from services.articles import ArticleView
from services.query import parse_query
from services.search import SearchHit, SearchPage

WHEN = datetime(2014, 11, 6, 9, 30, tzinfo=UTC)


def view(i: int = 1, **overrides: object) -> ArticleView:
    base = ArticleView(
        id=i,
        external_id=None,
        title=f"Title {i}",
        summary=f"Summary of story {i}.",
        url=f"https://news.example/{i}",
        source="Example News",
        published_at=WHEN,
        sort_at=WHEN,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def page(
    *views: ArticleView, query: str = "iran", offset: int = 0, more: bool = False
) -> SearchPage:
    hits = tuple(SearchHit(v, 1.0) for v in views)
    return SearchPage(parse_query(query), hits, offset, has_more=more)


def visible_text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def test_result_shows_bold_title_meta_summary_and_link() -> None:
    text = render_results(page(view(7)), "newsbot", None).text
    assert "<b>1. Title 7</b>" in text
    assert "<i>Example News · 6 Nov 2014</i>" in text
    assert "Summary of story 7." in text
    assert '<a href="https://news.example/7">' in text


def test_everything_user_supplied_is_escaped() -> None:
    evil = view(
        title="<script>alert(1)</script> & Co",
        summary="a < b & c > d",
        source="<b>Src</b>",
        url='https://x.example/?a=1&b="2"',
    )
    text = render_results(page(evil, query="<i>q</i>"), "newsbot", None).text
    assert "<script>" not in text and "<b>Src</b>" not in text and "<i>q</i>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in text
    assert 'href="https://x.example/?a=1&amp;b=&quot;2&quot;"' in text


def test_article_without_url_links_to_the_bot() -> None:
    text = render_article(view(3, url=None), "newsbot")
    assert deep_link("newsbot", view(3)) == "https://t.me/newsbot?start=a_3"
    assert 'href="https://t.me/newsbot?start=a_3"' in text


def test_external_id_is_shown_as_the_public_id() -> None:
    assert "<code>bbc-tech-001</code>" in render_article(view(external_id="bbc-tech-001"), "b")


def test_five_huge_hits_stay_under_telegram_limit() -> None:
    huge = [view(i, title="T" * 500, summary="word " * 2000) for i in range(5)]
    rendered = render_results(page(*huge, query="x" * 500), "newsbot", 9)
    assert len(visible_text(rendered.text)) <= MAX_MESSAGE_CHARS
    assert len(rendered.text) <= MAX_MESSAGE_CHARS
    assert rendered.text.count("<b>") == 5


def test_paging_buttons_carry_short_session_data() -> None:
    first = render_results(page(view(1), more=True), "b", 123456789012345678)
    assert first.keyboard is not None
    (row,) = first.keyboard.inline_keyboard
    assert [b.text for b in row] == ["Next ▶"]
    assert row[0].callback_data == "pg:123456789012345678:1"
    middle = render_results(page(view(6), offset=5, more=True), "b", 1).keyboard
    assert middle is not None
    assert [b.callback_data for b in middle.inline_keyboard[0]] == ["pg:1:4", "pg:1:6"]
    assert render_results(page(view(1)), "b", 1).keyboard is None


def test_page_callback_round_trip_and_forgeries() -> None:
    assert parse_page_callback(page_callback(42, 10)) == (42, 10)
    for forged in [
        "",
        "pg",
        "pg:1",
        "pg:x:1",
        "pg:1:-5",
        "pg:1:2:3",
        "zz:1:2",
        "pg:1:99999",
        "pg:१:2",
    ]:
        assert parse_page_callback(forged) is None, forged


def test_no_results_and_latest() -> None:
    assert "No articles match “&lt;x&gt;”" in render_no_results("<x>")
    assert render_latest([], "b") == "No articles are stored yet."
    many = render_latest([view(i, summary="long " * 500) for i in range(20)], "b")
    assert len(many) <= MAX_MESSAGE_CHARS


def test_truncated_query_is_mentioned() -> None:
    text = render_results(page(view(1), query="word " * 100), "b", None).text
    assert "only its beginning was searched" in text
