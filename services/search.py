"""Typo-tolerant ranked search: the index proposes candidates, rapidfuzz ranks them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from rapidfuzz import fuzz

from services.articles import ArticleService, ArticleView
from services.query import ParsedQuery, parse_query
from storage.search_index import Candidate, SearchIndex
from storage.text import tokens

# How many candidates the index hands to the rerank; enough to survive typos in every word.
CANDIDATE_POOL = 200
MAX_RESULTS = 50
# Weights of the rerank, tuned on the development corpus (bench/search.py).
TITLE_SIMILARITY_WEIGHT = 0.1
TITLE_COVERAGE_WEIGHT = 0.1
# A query word counts as "in the title" when this similar to a title word.
WORD_MATCH_CUTOFF = 75


@dataclass(frozen=True, slots=True)
class SearchHit:
    article: ArticleView
    score: float


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: ParsedQuery
    hits: tuple[SearchHit, ...]
    offset: int
    has_more: bool


class SearchService:
    def __init__(self, index: SearchIndex, articles: ArticleService) -> None:
        self._index = index
        self._articles = articles

    async def search(self, raw_query: str, *, limit: int = 5, offset: int = 0) -> SearchPage:
        """Rank stored articles for a query and return one page of hits."""
        query = parse_query(raw_query)
        limit = max(1, min(limit, MAX_RESULTS))
        offset = max(0, offset)
        if query.is_empty:
            return SearchPage(query, (), offset, has_more=False)
        pool = max(CANDIDATE_POOL, offset + limit + 1)
        candidates = await asyncio.to_thread(self._index.candidates, query.index_query, pool)
        ranked = rank(query, candidates)
        page = ranked[offset : offset + limit]
        views = {
            view.id: view for view in await self._articles.get_many([c.article_id for c, _ in page])
        }
        hits = tuple(
            SearchHit(views[c.article_id], score) for c, score in page if c.article_id in views
        )
        return SearchPage(query, hits, offset, has_more=len(ranked) > offset + limit)


def rank(query: ParsedQuery, candidates: list[Candidate]) -> list[tuple[Candidate, float]]:
    """Order candidates by index score plus title similarity; newer first on ties."""
    if not candidates:
        return []
    top = max(c.score for c in candidates) or 1.0
    words = query.words or tuple(w for phrase in query.index_query.phrases for w in phrase)
    joined = " ".join(words)
    scored: list[tuple[Candidate, float]] = []
    for candidate in candidates:
        title_words = tokens(candidate.title)
        similarity = fuzz.partial_ratio(joined, " ".join(title_words)) / 100 if joined else 0.0
        covered = sum(
            1
            for word in words
            if any(fuzz.ratio(word, t, score_cutoff=WORD_MATCH_CUTOFF) for t in title_words)
        )
        coverage = covered / len(words) if words else 0.0
        score = (
            candidate.score / top
            + TITLE_SIMILARITY_WEIGHT * similarity
            + TITLE_COVERAGE_WEIGHT * coverage
        )
        scored.append((candidate, round(score, 6)))
    scored.sort(key=lambda pair: (pair[1], pair[0].sort_ts, pair[0].article_id), reverse=True)
    return scored
