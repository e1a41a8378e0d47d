"""Articles in every script are found by the search service, on SQLite and on PostgreSQL.

The articles and queries are bench/multiscript.py's, stored through the ingest path next to
English ones, indexed by the follower, and searched as a user types; each query must bring
its article first.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.multiscript import ARTICLES, QUERIES
from services.articles import ArticleService
from services.ingest import IngestService
from services.parsing import RawArticle
from services.search import SearchService
from storage.index_sync import IndexFollower
from storage.search_index import SearchIndex
from tests.conftest import FixedClock
from tests.services.test_search import ARTICLES as ENGLISH

SCRIPTS = sorted({q.script for q in QUERIES})


@pytest.fixture
async def search(
    sessions: async_sessionmaker[AsyncSession], clock: FixedClock, tmp_path: Path
) -> SearchService:
    stories = [
        RawArticle(title=a.title, body=a.body, published_at=None, external_id=a.key)
        for a in ARTICLES
    ]
    report = await IngestService(sessions, clock=clock).ingest(
        [(story, "t") for story in [*stories, *ENGLISH]]
    )
    assert report.added == len(ARTICLES) + len(ENGLISH)
    index = SearchIndex(tmp_path / "index")
    await IndexFollower(index, sessions).catch_up()
    return SearchService(index, ArticleService(sessions))


async def first_hit(search: SearchService, query: str) -> str | None:
    page = await search.search(query, limit=3)
    return page.hits[0].article.external_id if page.hits else None


def test_every_script_has_queries_with_and_without_typos() -> None:
    assert {"Chinese", "Japanese", "Thai", "Korean", "Hindi", "Russian", "Ukrainian"} <= set(
        SCRIPTS
    )
    assert {"Greek", "Arabic", "Persian"} <= set(SCRIPTS)
    typo_scripts = {q.script for q in QUERIES if q.typo}
    assert {"Hindi", "Russian", "Ukrainian", "Greek", "Arabic", "Persian"} <= typo_scripts


@pytest.mark.parametrize("script", SCRIPTS)
async def test_each_query_finds_its_article_first(search: SearchService, script: str) -> None:
    wanted = {q.text: q.target for q in QUERIES if q.script == script}
    found = {text: await first_hit(search, text) for text in wanted}
    assert found == wanted


async def test_english_typos_are_still_forgiven_next_to_other_scripts(
    search: SearchService,
) -> None:
    page = await search.search("obma iran leter")
    assert page.hits[0].article.title == "Barack Obama’s Secret Letter to Iran Leader"


async def test_a_korean_compound_is_found_by_its_part_and_not_by_a_neighbours(
    search: SearchService,
) -> None:
    page = await search.search("금리")
    assert [hit.article.external_id for hit in page.hits] == ["ko-rate"]


async def test_a_cjk_phrase_needs_its_characters_together(search: SearchService) -> None:
    assert await first_hit(search, '"报价利率"') == "zh-rate"
    assert await first_hit(search, '"利率报价"') is None
