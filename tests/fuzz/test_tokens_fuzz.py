"""The index holds exactly the terms a query is tokenised into, for any text in any script."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from storage.search_index import IndexedArticle, IndexQuery, SearchIndex
from storage.text import MAX_TERM_BYTES, index_text, tokens

# Pieces of every script the tokeniser treats specially, mixed with anything at all.
_SCRIPTS = st.sampled_from(
    [
        "基准利率",
        "日本銀行は",
        "ﾃﾞｼﾞﾀﾙ",
        "기준금리를",
        "อัตราดอกเบี้ย",
        "चुनाव",
        "Ёлка",
        "Україні",
        "Προϋπολογισμός",
        "الكِتَاب",
        "سپرده‌ها",
        "Zoë's",
        "x" * 41,
        " ",
        "，",
        "_",
        "-",
    ]
)
_TEXT = st.lists(st.one_of(_SCRIPTS, st.text(max_size=12)), max_size=10).map("".join)


@given(_TEXT)
@example("İstanbul ǅ ﬁ ﬀ")
def test_the_index_is_fed_exactly_the_query_terms(text: str) -> None:
    fed = [t for t in index_text(text).split(" ") if t]
    assert [t for t in fed if len(t.encode()) < MAX_TERM_BYTES] == tokens(text)
    assert all(not t.isspace() and t == t.strip() for t in tokens(text))


@given(st.lists(st.one_of(_SCRIPTS, st.text(min_size=1, max_size=12)), min_size=1, max_size=6))
def test_an_article_is_found_by_each_of_its_terms(pieces: list[str]) -> None:
    title = " ".join(pieces)
    index = SearchIndex(None)
    index.apply([IndexedArticle(1, title, "", None, 0)])
    for term in tokens(title):
        found = index.candidates(IndexQuery(words=(term,)), 5, thorough=False)
        assert [c.article_id for c in found] == [1], term
