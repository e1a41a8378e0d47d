"""The search service over a real index and database: what users type, what they get."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.articles import ArticleService
from services.ingest import IngestService
from services.parsing import RawArticle
from services.query import parse_query
from services.search import SearchService
from storage.articles import ArticleRepository
from storage.index_sync import IndexFollower
from storage.search_index import SearchIndex
from tests.conftest import FixedClock


def story(title: str, body: str, when: datetime | None = None, **kw: object) -> RawArticle:
    return RawArticle(title=title, body=body, published_at=when, **kw)  # type: ignore[arg-type]


ARTICLES = [
    story(
        "Barack Obama’s Secret Letter to Iran Leader",
        "President Obama wrote to Iran’s supreme leader about the nuclear deal and Islamic State.",
        external_id="seed",
    ),
    story(
        "Iran nuclear talks stall in Vienna",
        "Negotiators left Vienna without a deal.",
        source="Wire One",
    ),
    story("Obama visits Kenya", "The president visited his father's homeland.", source="Wire Two"),
    story("Sports round-up", "Iran beat Qatar in a friendly. Obama was not there."),
    story("Heatwave grips Europe", "Temperatures rose across the continent in July."),
    story(
        "Market report",
        "Shares rose.",
        datetime(2014, 1, 1, tzinfo=UTC),
        external_id="old",
    ),
    story(
        "Market report",
        "Shares rose again.",
        datetime(2015, 1, 1, tzinfo=UTC),
        external_id="new",
    ),
]


@pytest.fixture
async def search(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> SearchService:
    await IngestService(sessions, clock=clock).ingest([(a, "t") for a in ARTICLES])
    index = SearchIndex(tmp_path / "index")
    await IndexFollower(index, sessions).catch_up()
    return SearchService(index, ArticleService(sessions))


async def titles(search: SearchService, query: str, limit: int = 5) -> list[str]:
    page = await search.search(query, limit=limit)
    return [hit.article.title for hit in page.hits]


@pytest.mark.parametrize(
    "query",
    [
        "obma iran leter",
        "OBAMA IRAN LETTER",
        "letter iran obama",
        "obama's letter",
        "obama’s letter",
        "obama iran lett",
        "secret letter iran leadr",
    ],
)
async def test_the_letter_comes_first_however_it_is_typed(
    search: SearchService, query: str
) -> None:
    assert (await titles(search, query))[0] == "Barack Obama’s Secret Letter to Iran Leader"


async def test_unfinished_last_word(search: SearchService) -> None:
    assert (await titles(search, "iran nucl"))[0] == "Iran nuclear talks stall in Vienna"


async def test_exact_phrase_is_required(search: SearchService) -> None:
    assert await titles(search, '"supreme leader"') == [
        "Barack Obama’s Secret Letter to Iran Leader"
    ]
    assert await titles(search, '"leader supreme"') == []


async def test_excluded_word(search: SearchService) -> None:
    found = await titles(search, "obama -kenya -letter")
    assert "Obama visits Kenya" not in found
    assert "Sports round-up" in found


async def test_ties_go_to_the_newer_article(search: SearchService) -> None:
    page = await search.search("market report", limit=2)
    assert [hit.article.external_id for hit in page.hits] == ["new", "old"]
    assert page.hits[0].score == page.hits[1].score


async def test_source_and_date_operators(search: SearchService) -> None:
    assert await titles(search, "source:wire obama") == ["Obama visits Kenya"]
    assert await titles(search, "market since:2014-06-01") == ["Market report"]
    page = await search.search("market before:2014-06-01")
    assert [h.article.external_id for h in page.hits] == ["old"]


async def test_unknown_syntax_is_searched_as_words(search: SearchService) -> None:
    assert (await titles(search, "foo:bar since:notadate heatwave"))[0] == "Heatwave grips Europe"


async def test_empty_and_punctuation_only_queries_find_nothing(search: SearchService) -> None:
    for query in ["", "   ", "!!! ???", '""', "-"]:
        page = await search.search(query)
        assert page.hits == () and page.query.is_empty


async def test_huge_query_is_truncated_not_refused(search: SearchService) -> None:
    page = await search.search("heatwave europe " + "lorem " * 2000)
    assert page.query.truncated
    assert page.hits[0].article.title == "Heatwave grips Europe"


async def test_paging(search: SearchService) -> None:
    first = await search.search("obama", limit=2)
    second = await search.search("obama", limit=2, offset=2)
    assert first.has_more
    assert {h.article.id for h in first.hits}.isdisjoint({h.article.id for h in second.hits})


@dataclass
class Live:
    """A search over an index that follows the database, as each bot process has."""

    search: SearchService
    follower: IndexFollower
    ingest: IngestService
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def live(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> Live:
    ingest = IngestService(sessions, clock=clock)
    await ingest.ingest([(a, "t") for a in ARTICLES])
    follower = IndexFollower(SearchIndex(tmp_path / "index"), sessions)
    await follower.catch_up()
    return Live(SearchService(follower.index, ArticleService(sessions)), follower, ingest, sessions)


async def test_a_stored_article_is_found_after_the_next_catch_up(live: Live) -> None:
    story_ = story("Volcano erupts near Reykjavik", "Flights were grounded.", external_id="v")
    await live.ingest.ingest([(story_, "t")])
    assert await titles(live.search, "volcno reykjavik") == []
    await live.follower.catch_up()
    assert (await titles(live.search, "volcno reykjavik"))[0] == "Volcano erupts near Reykjavik"


async def test_an_updated_title_is_found_by_its_new_words_only(live: Live) -> None:
    letter = "Barack Obama’s Secret Letter to Iran Leader"
    renamed = dataclasses.replace(ARTICLES[0], title="Obama Wrote to Khamenei, Officials Say")
    report = await live.ingest.ingest([(renamed, "t")])
    assert report.updated == 1
    await live.follower.catch_up()
    assert (await titles(live.search, "obama wrote khamenei"))[0] == renamed.title
    assert letter not in await titles(live.search, "secret letter")


async def test_a_deleted_article_is_not_found(live: Live, clock: FixedClock) -> None:
    (hit,) = (await live.search.search("heatwave europe", limit=1)).hits
    async with live.sessions.begin() as session:
        assert await ArticleRepository(session).delete(hit.article.id, clock())
    # Even before the index catches up, a deleted article is never shown...
    assert "Heatwave grips Europe" not in await titles(live.search, "heatwave europe")
    await live.follower.catch_up()
    # ...and afterwards the index no longer proposes it.
    query = parse_query("heatwave europe").index_query
    assert hit.article.id not in [c.article_id for c in live.follower.index.candidates(query, 10)]


async def test_a_rebuild_answers_as_before(live: Live) -> None:
    before = [await titles(live.search, q) for q in ("obma iran leter", "market", "vienna")]
    assert await live.follower.rebuild() == len(ARTICLES)
    after = [await titles(live.search, q) for q in ("obma iran leter", "market", "vienna")]
    assert after == before


async def test_words_found_only_in_the_body(search: SearchService) -> None:
    assert (await titles(search, "negotiators deal"))[0] == "Iran nuclear talks stall in Vienna"


async def test_title_and_body_words_together(search: SearchService) -> None:
    assert (await titles(search, "kenya homeland"))[0] == "Obama visits Kenya"


async def test_two_typos_in_one_long_word(search: SearchService) -> None:
    # 8 letters, two typos: only the second, thorough pass looks that far.
    assert (await titles(search, "haetwvae"))[0] == "Heatwave grips Europe"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('obama "secret letter"', ["Barack Obama’s Secret Letter to Iran Leader"]),
        ('"supreme leader', ["Barack Obama’s Secret Letter to Iran Leader"]),  # unclosed quote
        ("iran -vienna -letter", ["Sports round-up"]),
        ("source:wire iran", ["Iran nuclear talks stall in Vienna"]),
        ("source:Wire-Two obama", ["Obama visits Kenya"]),
        ("SOURCE:wire since:2030-01-01 obama", []),
        ("market before:2014-06-01 since:2013-01-01", ["Market report"]),
        ("since:2014-13-45 heatwave", ["Heatwave grips Europe"]),  # not a date: words
        ("heatwave source:", ["Heatwave grips Europe"]),
        ("-- heatwave", ["Heatwave grips Europe"]),
    ],
)
async def test_query_language(search: SearchService, query: str, expected: list[str]) -> None:
    assert (await titles(search, query))[: len(expected) or None] == expected
