"""The one tokeniser of the index and its queries, script by script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage.index_state import STATE_FILE
from storage.search_index import IndexedArticle, IndexQuery, SearchIndex
from storage.text import fold, index_text, tokens, words


def test_chinese_and_japanese_become_overlapping_bigrams() -> None:
    assert tokens("下调基准利率") == ["下调", "调基", "基准", "准利", "利率"]
    assert tokens("日本銀行は") == ["日本", "本銀", "銀行", "行は"]
    assert tokens("一") == ["一"]  # a lone character stays a term
    # Punctuation ends a run; Latin words beside Han characters stay whole.
    assert tokens("iPhone发布，苹果") == ["iphone", "发布", "苹果"]


def test_half_width_katakana_and_voiced_kana_meet_their_full_forms() -> None:
    assert tokens("ﾃﾞｼﾞﾀﾙ") == tokens("デジタル") == ["デジ", "ジタ", "タル"]
    assert tokens("が") == ["が"]  # decomposed for folding, recomposed after


def test_a_korean_compound_holds_the_bigram_of_its_part() -> None:
    compound = tokens("기준금리를")
    assert "금리" in compound
    assert tokens("금리") == ["금리"]


def test_thai_is_split_into_dictionary_words() -> None:
    assert tokens("อัตราดอกเบี้ยนโยบาย") == ["อัตรา", "ดอกเบี้ย", "นโยบาย"]


@pytest.mark.parametrize("word", ["चुनाव", "नतीजे", "विधानसभा", "गठबंधन", "हासिल", "क़ानून"])
def test_devanagari_vowel_signs_stay_inside_their_word(word: str) -> None:
    assert tokens(word) == [fold(word)]
    assert tokens(f"बिहार {word} के") == ["बिहार", fold(word), "के"]


def test_accents_are_folded_where_readers_drop_them() -> None:
    assert tokens("Élection à São Paulo") == ["election", "a", "sao", "paulo"]
    assert tokens("Ёлка") == tokens("елка") == ["елка"]
    assert tokens("Προϋπολογισμός") == tokens("προυπολογισμος")
    assert tokens("الكِتَاب") == tokens("الكتاب") == ["الكتاب"]
    assert tokens("ســلام") == tokens("سلام")  # tatweel


def test_cyrillic_short_i_and_yi_are_letters_not_accents() -> None:
    assert tokens("Толстой Україні") == ["толстой", "україні"]


def test_persian_zero_width_non_joiner_separates_as_before() -> None:
    assert tokens("سپرده‌ها") == ["سپرده", "ها"]


def test_english_is_tokenised_as_it_always_was() -> None:
    assert tokens("Obama's letter to Iran, 2015: 'secret'") == [
        "obama",
        "s",
        "letter",
        "to",
        "iran",
        "2015",
        "secret",
    ]
    assert tokens("x" * 39 + " ok " + "y" * 40) == ["x" * 39, "ok"]  # as tantivy's limit


@pytest.mark.parametrize(
    "text",
    [
        "下调基准利率",
        "기준금리를 올렸다",
        "อัตราดอกเบี้ยนโยบาย",
        "चुनाव के नतीजे",
        "Obama’s letter",
        "an_underscored " + "x" * 45 + " ok",
    ],
)
def test_the_index_text_tokenises_back_to_the_same_terms(text: str) -> None:
    assert tokens(index_text(text)) == tokens(text)


def test_words_keep_unspaced_scripts_whole() -> None:
    assert words("基准利率 기준금리를 Obama's") == ["基准利率", "기준금리를", "obama", "s"]


def test_an_index_of_the_previous_format_is_rebuilt_on_open(tmp_path: Path) -> None:
    # Format 2 was tantivy's own tokenizer: its terms are not the ones queries look for.
    path = tmp_path / "index"
    SearchIndex(path).apply([IndexedArticle(1, "下调基准利率", "", None, 0)], watermark=5)
    state = json.loads((path / STATE_FILE).read_text())
    (path / STATE_FILE).write_text(json.dumps({**state, "format": 2}))

    reopened = SearchIndex(path)
    assert reopened.discarded is not None and "format 2" in reopened.discarded
    assert (reopened.watermark, reopened.doc_count()) == (0, 0)  # the follower refills it
    reopened.apply([IndexedArticle(1, "下调基准利率", "", None, 0)], watermark=5)
    found = reopened.candidates(IndexQuery(words=("利率",)), 5)
    assert [c.article_id for c in found] == [1]
