from __future__ import annotations

from pathlib import Path

import pytest
import tantivy

from storage.search_index import IndexBusyError, IndexedArticle, IndexQuery, SearchIndex
from storage.text import tokens

DAY = 86_400


def article(
    i: int, title: str, body: str = "", source: str | None = None, ts: int = 0
) -> IndexedArticle:
    return IndexedArticle(
        id=i, title=title, body=body or title, source=source, sort_ts=ts or i * DAY
    )


def q(text: str, **kwargs: object) -> IndexQuery:
    return IndexQuery(words=tuple(tokens(text)), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def index() -> SearchIndex:
    idx = SearchIndex(None)
    idx.apply(
        [
            article(1, "Obama's secret letter to Iran leader", "The president wrote to Khamenei."),
            article(2, "Bank profits soar", "The bank made 515m.", source="BBC News"),
            article(
                3, "Football club wins cup", "A late goal settled the final.", source="Sport Daily"
            ),
            article(4, "Nuclear talks resume in Vienna", "Iran and the powers meet again."),
        ]
    )
    return idx


def ids(index: SearchIndex, query: IndexQuery) -> list[int]:
    return [c.article_id for c in index.candidates(query, 10)]


def test_typos_in_every_word_still_find_the_article(index: SearchIndex) -> None:
    assert ids(index, q("obma iran leter"))[0] == 1


def test_unfinished_last_word_matches_as_prefix(index: SearchIndex) -> None:
    assert ids(index, q("vienna nucl", prefix_last=True))[0] == 4
    assert 4 not in ids(index, q("nucl"))


def test_phrase_must_appear_in_order(index: SearchIndex) -> None:
    assert ids(index, IndexQuery(phrases=(("late", "goal"),))) == [3]
    assert ids(index, IndexQuery(phrases=(("goal", "late"),))) == []


def test_excluded_word_removes_matches(index: SearchIndex) -> None:
    assert 4 in ids(index, q("iran"))
    assert 4 not in ids(index, q("iran", excluded=("vienna",)))


def test_source_and_date_filters(index: SearchIndex) -> None:
    assert ids(index, q("bank", source_terms=("bbc",))) == [2]
    assert ids(index, q("bank", source_terms=("reuters",))) == []
    assert ids(index, q("iran", since_ts=4 * DAY)) == [4]
    assert ids(index, q("iran", before_ts=4 * DAY)) == [1]


def test_update_replaces_and_delete_removes(index: SearchIndex) -> None:
    index.apply([article(2, "Bank losses deepen")], deletes=[3])
    assert ids(index, q("profits")) == []
    assert ids(index, q("losses")) == [2]
    assert ids(index, q("football")) == []
    assert index.doc_count() == 3


def test_empty_query_finds_nothing(index: SearchIndex) -> None:
    assert index.candidates(IndexQuery(), 10) == []


def test_on_disk_index_keeps_documents_and_watermark(tmp_path: Path) -> None:
    first = SearchIndex(tmp_path / "idx")
    first.apply([article(7, "Elections in Moldova")], watermark=42)
    reopened = SearchIndex(tmp_path / "idx")
    assert reopened.watermark == 42
    assert ids(reopened, q("moldova")) == [7]


def test_index_of_another_format_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    SearchIndex(path).apply([article(1, "Old format")], watermark=5)
    (path / "newsbot-state.json").write_text('{"format": -7, "watermark": 5}')
    fresh = SearchIndex(path)
    assert fresh.watermark == 0
    assert fresh.doc_count() == 0


def test_second_writer_is_reported_busy(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    index = SearchIndex(path)
    holder = tantivy.Index.open(str(path))
    writer = holder.writer(15_000_000, 1)
    try:
        with pytest.raises(IndexBusyError):
            index.apply([article(1, "Blocked")])
    finally:
        writer.rollback()
        del writer
    assert index.apply([article(1, "Unblocked")]) == 1
