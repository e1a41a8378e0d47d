"""Keyword subscriptions meet inflections in the article's language, and CJK by its terms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.alerts.keywords import parse_keywords
from services.alerts.languages import KeywordMatcher, Languages, _loaded_detector
from services.alerts.matching import SubscriptionIndex, SubscriptionRule

THEN = datetime(2026, 11, 1, tzinfo=UTC)
NOW = THEN + timedelta(days=1)


def subscribed(typed: str, exclude: str = "") -> SubscriptionRule:
    return SubscriptionRule(
        1, 1, 0, parse_keywords(typed).include, parse_keywords(exclude).include, THEN
    )


def matches(typed: str, title: str, body: str = "", exclude: str = "") -> bool:
    index = SubscriptionIndex([subscribed(typed, exclude)], Languages())
    return bool(index.recipients(title, body, NOW))


@pytest.mark.parametrize(
    ("typed", "title", "body"),
    [
        (
            "выборы",
            "Явка на выборах в Москве оказалась выше прошлой",
            "Итоги подведут в понедельник.",
        ),
        ("выборах", "Выборы губернатора назначены на сентябрь", ""),
        ("вибори", "Що відомо про підготовку до виборів у громадах", "Центральна виборча комісія."),
        ("україна", "Делегація з України прибула до Брюсселя", "Переговори тривали два дні."),
        ("elecciones", "El partido ganó la elección presidencial por amplio margen", ""),
        ("wahlen", "Die Wahl in Sachsen bringt eine knappe Mehrheit", "Die Parteien beraten."),
        ("élections", "Le gouvernement annonce la date de l'élection régionale", ""),
        ("eleição", "Candidatos se preparam para a eleição em outubro", ""),
        ("pemilihan", "Komisi menetapkan jadwal pemilihan umum tahun depan", ""),
        ("elezioni", "Il governo fissa la data della prossima elezione regionale", ""),
        ("wybory", "Frekwencja w wyborach była wyższa niż cztery lata temu", ""),
        ("εκλογές", "Πότε θα γίνουν οι εκλογές στην Ελλάδα", ""),
        ("elections", "Voters head to the polls as the election nears", ""),
        ("voting", "Turnout is high as people voted early in Ohio", ""),
    ],
)
def test_a_keyword_meets_its_inflections_in_the_articles_language(
    typed: str, title: str, body: str
) -> None:
    assert matches(typed, title, body)


def test_an_inflected_exclusion_excludes_too() -> None:
    assert not matches("москва", "Выборы в Москве перенесли", "", exclude="выборы")
    assert matches("москва", "Погода в Москве на неделю", "", exclude="выборы")


def test_unrelated_words_sharing_letters_do_not_match() -> None:
    assert not matches("выборы", "Выбросы в атмосферу сократились", "")
    assert not matches("news", "New rules for old cars", "")  # English keeps "news" whole


@pytest.mark.parametrize(
    ("typed", "title", "expected"),
    [
        ("利率", "中国人民银行下调贷款市场报价利率", True),
        ("基准利率", "央行宣布下调基准利率", True),
        ("基准利率", "利率市场化改革继续推进", False),  # 利率 alone is not 基准利率
        ("金利", "日本銀行が金利の引き上げを決定", True),
        ("금리", "한국은행, 기준금리 인상", True),
        ("기준금리", "기준금리 동결 결정", True),
        ("기준금리", "대출 금리 상승", False),
        ("ดอกเบี้ย", "ธนาคารแห่งประเทศไทยคงอัตราดอกเบี้ยนโยบาย", True),
        ("น้ำท่วม", "ธนาคารแห่งประเทศไทยคงอัตราดอกเบี้ยนโยบาย", False),
    ],
)
def test_cjk_and_thai_keywords_match_by_the_search_segmentation(
    typed: str, title: str, expected: bool
) -> None:
    assert matches(typed, title) is expected


def test_a_cjk_keyword_is_kept_whole_at_subscribe_time() -> None:
    assert parse_keywords("基准利率 기준금리를 -体育").include == ("基准利率", "기준금리를")
    assert parse_keywords("基准利率 -体育").exclude == ("体育",)


def test_the_language_is_read_from_a_bounded_sample() -> None:
    languages = Languages()
    assert languages.detect("Итоги голосования на выборах в Москве") == "ru"
    assert languages.detect("Що відомо про підготовку до виборів у громадах") == "uk"
    assert languages.detect("El partido ganó la elección presidencial") == "es"
    # Only the start of a long body is read: an English tail does not change the answer.
    body = "Итоги голосования подведут в понедельник. " * 20 + "English words only. " * 5000
    assert languages.detect("Выборы в Москве", body) == "ru"


def test_each_language_stems_the_keywords_once() -> None:
    matcher = KeywordMatcher(["выборы", "вибори", "obama"], Languages())
    assert matcher.found_in("Явка на выборах", "Итоги голосования подведут позже.") == {"выборы"}
    assert matcher.found_in("Obama visits Kenya", "The president arrived on Monday.") == {"obama"}
    assert matcher.found_in("Нарешті про вибори", "Комісія підбила підсумки голосування.") == {
        "вибори"
    }


def test_new_subscription_indexes_reuse_the_loaded_model() -> None:
    # The matcher builds a new SubscriptionIndex whenever subscriptions change.
    for typed in ("выборы", "вибори", "elecciones"):
        assert matches(typed, "Явка на выборах в Москве", "Итоги подведут позже.") is (
            typed == "выборы"
        )
    assert _loaded_detector.cache_info().currsize == 1
    assert _loaded_detector.cache_info().misses <= 1


def test_warm_up_loads_the_detector_once_for_every_later_use() -> None:
    from services.alerts import languages

    languages.warm_up()
    loaded = languages._loaded_detector.cache_info().currsize
    assert loaded == 1
    before = languages._loaded_detector.cache_info().hits
    assert languages.Languages().detect("Выборы в Киеве", "Прошли выборы") == "ru"
    assert languages._loaded_detector.cache_info().hits == before + 1  # taken, not loaded again
