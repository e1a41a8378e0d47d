from __future__ import annotations

from pathlib import Path

import pytest
import tantivy

from storage import search_index
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


def test_candidates_report_which_query_words_the_body_holds(index: SearchIndex) -> None:
    found = {c.article_id: c for c in index.candidates(q("iran president powers"), 10)}
    # bit i: word i of the query is in the body
    assert found[1].body_words == 0b010  # "The president wrote to Khamenei."
    assert found[4].body_words == 0b101  # "Iran and the powers meet again."


def test_a_body_only_word_finds_the_article(index: SearchIndex) -> None:
    assert ids(index, q("khamenei")) == [1]


def test_phrase_only_query_scores_the_phrase_words(index: SearchIndex) -> None:
    (only,) = index.candidates(IndexQuery(phrases=(("late", "goal"),)), 10)
    assert only.article_id == 3
    assert only.body_words == 0b11


def test_matching_more_words_beats_matching_a_rarer_word() -> None:
    index = SearchIndex(None)
    reports = [article(i, f"Weather report number {i}") for i in range(10, 30)]
    index.apply([article(1, "Quokka sighting"), *reports])
    # BM25 would put the one rare word first; every query word counts once here.
    assert ids(index, q("weather report quokka"))[0] != 1
    assert ids(index, q("quokka"))[0] == 1


def test_the_quick_pass_takes_known_words_as_typed(index: SearchIndex) -> None:
    # "bank" is a title word, so the quick pass does not look for "bans", "band"...
    quick = index.candidates(q("banks"), 10, thorough=False)
    assert [c.article_id for c in quick] == [2]  # "banks" is unknown: one typo is tried
    assert index.candidates(q("cup"), 10, thorough=False)[0].article_id == 3


def test_two_typos_in_a_long_word_need_the_thorough_pass(index: SearchIndex) -> None:
    swapped = q("nuclaer")  # a swap is one typo
    assert [c.article_id for c in index.candidates(swapped, 10, thorough=False)] == [4]
    doubled = q("nucllearr")
    assert index.candidates(doubled, 10, thorough=False) == []
    assert ids(index, doubled) == [4]


def test_batch_changes_are_invisible_until_committed(index: SearchIndex) -> None:
    batch = index.batch()
    assert batch.add([article(9, "Volcano erupts")], deletes=[1]) == 1
    assert ids(index, q("volcano")) == []
    assert ids(index, q("obama")) == [1]
    batch.commit(watermark=12)
    assert ids(index, q("volcano")) == [9]
    assert ids(index, q("obama")) == []
    assert index.watermark == 12


def test_a_rolled_back_batch_changes_nothing(index: SearchIndex) -> None:
    batch = index.batch()
    batch.add([article(9, "Volcano erupts")])
    batch.rollback()
    assert ids(index, q("volcano")) == []
    assert index.apply([article(10, "Writer released")]) == 1


def test_a_rebuild_batch_replaces_everything_at_its_commit(index: SearchIndex) -> None:
    batch = index.batch(replace_all=True)
    batch.add([article(2, "Bank profits soar")])
    assert ids(index, q("football")) == [3]  # still answering from the old documents
    batch.commit(watermark=7)
    assert ids(index, q("football")) == []
    assert index.doc_count() == 1


def test_a_bulk_load_makes_one_segment(tmp_path: Path) -> None:
    index = SearchIndex(tmp_path / "idx")
    batch = index.batch(heap=50_000_000)
    for start in range(0, 3000, 500):
        batch.add(article(i, f"Story {i} about zebras") for i in range(start + 1, start + 501))
    batch.commit(watermark=3000)
    assert index.doc_count() == 3000
    assert index.segment_count() == 1


def test_words_in_most_bodies_count_only_through_the_body_masks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(search_index, "CHEAP_POSTINGS", 0)
    index = SearchIndex(None)
    common = [article(i, f"Filler {i}", "Weather was mild.") for i in range(10, 20)]
    index.apply([article(1, "Harbour reopens", "Weather delayed the work."), *common])
    # "weather" is in most bodies: the body search skips it, so it finds nothing alone...
    assert ids(index, q("weather")) == []
    # ...but a candidate found by another word still reports it.
    (harbour,) = index.candidates(q("harbour weather"), 10)
    assert harbour.body_words == 0b10
