"""Hypothesis strategies for what users and files throw at newsbot, and the message check."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from services.articles import ArticleView
from tests.helpers.botapi_rules import MAX_CALLBACK_DATA_BYTES, validate_text

# Every code point Telegram can carry (lone surrogates cannot be sent as UTF-8).
_ANY_CHAR = st.characters(exclude_categories=("Cs",))
# Characters that break careless code: markup, entities, quotes, zero-width and
# direction marks, combining accents, an astral emoji (two UTF-16 units), NUL.
_NASTY = st.sampled_from(list("<>&\"'/\\:@#-_ \n\t\u200b\u202e\u0301😀\x00"))
_PIECES = st.one_of(
    st.text(st.one_of(_ANY_CHAR, _NASTY), max_size=12),
    st.sampled_from(["&amp;", "&#0;", "<b>", "</i>", "\r\n", "  "]),
)
odd_text = st.lists(_PIECES, max_size=8).map("".join)
long_text = st.one_of(
    st.text(st.one_of(_ANY_CHAR, _NASTY), min_size=1, max_size=6000),
    st.builds(lambda piece, times: piece * times, odd_text.filter(bool), st.integers(1, 3000)),
)
words = st.lists(
    st.one_of(st.from_regex(r"[a-z]{1,12}", fullmatch=True), odd_text), max_size=30
).map(" ".join)
huge_number = st.integers(min_value=-(10**30), max_value=10**30).map(str)
moments = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
urls = st.one_of(
    st.none(),
    st.just("https://news.example/a?x=1&y=<2>"),
    st.builds(lambda path: f"https://news.example/{path}", odd_text),
    st.sampled_from(["http://127.0.0.1:8080/admin", "javascript:alert(1)", "tg://user?id=1"]),
    long_text,
)


@st.composite
def article_views(draw: Any) -> ArticleView:
    return ArticleView(
        id=draw(st.integers(min_value=1, max_value=2**63 - 1)),
        external_id=draw(st.one_of(st.none(), odd_text.filter(bool), long_text)),
        title=draw(st.one_of(odd_text.filter(str.strip), long_text)),
        summary=draw(st.one_of(st.just(""), odd_text, long_text)),
        url=draw(urls),
        source=draw(st.one_of(st.none(), odd_text)),
        published_at=draw(st.one_of(st.none(), moments)),
        sort_at=draw(moments),
    )


def assert_valid_message(html: str) -> None:
    """What sendMessage with parse_mode=HTML accepts: valid markup, 1-4096 characters."""
    validate_text(html, "HTML", None)  # raises ApiError (400) for anything Telegram refuses


def assert_valid_callback_data(data: str) -> None:
    assert 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES
