"""Typo-tolerant ranked search: the index proposes candidates, rapidfuzz ranks them.

A candidate scores, for each query word, how well the word matches its title (exactly, with
typos, as the start of a longer word) or whether its body holds the word, whichever is best;
then how closely the query reads like the title. Ties go to the newer article.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from services.articles import ArticleService, ArticleView
from services.query import ParsedQuery, parse_query
from storage.search_index import (
    Candidate,
    SearchIndex,
    edit_distance_for,
    prefix_distance_for,
)

# Candidates the index hands to the rerank: title matches, and body matches by BM25.
TITLE_POOL = 30
BODY_POOL = 15
MAX_RESULTS = 50
# What one query word is worth, by how it matches (tuned with bench/search.py and
# bench/search_scale.py). A body match is exact, so it counts nearly as much as a title typo.
EXACT_TITLE = 1.0
PREFIX_TITLE = 0.85
TYPO_TITLE = (1.0, 0.8, 0.7)  # by number of typos
BODY = 0.75
# How much the query's closeness to the title (rapidfuzz partial_ratio) adds.
SIMILARITY_WEIGHT = 0.3


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


@dataclass(frozen=True, slots=True)
class Ranked:
    candidate: Candidate
    score: float
    words_matched: float  # sum over query words of how well each matched
    title_matched: float  # the same, counting title matches only


class SearchService:
    def __init__(
        self,
        index: SearchIndex,
        articles: ArticleService,
        *,
        timer: Callable[[float], None] | None = None,  # told each ranking's seconds (metrics)
    ) -> None:
        self._index = index
        self._articles = articles
        self._timer = timer

    async def search(self, raw_query: str, *, limit: int = 5, offset: int = 0) -> SearchPage:
        """Rank stored articles for a query and return one page of hits."""
        query = parse_query(raw_query)
        limit = max(1, min(limit, MAX_RESULTS))
        offset = max(0, offset)
        if query.is_empty:
            return SearchPage(query, (), offset, has_more=False)
        started = time.perf_counter()
        ranked = await asyncio.to_thread(self.ranked, query, offset + limit + 1)
        if self._timer is not None:
            self._timer(time.perf_counter() - started)
        page = ranked[offset : offset + limit]
        views = {
            view.id: view
            for view in await self._articles.get_many([r.candidate.article_id for r in page])
        }
        hits = tuple(
            SearchHit(views[r.candidate.article_id], r.score)
            for r in page
            if r.candidate.article_id in views
        )
        return SearchPage(query, hits, offset, has_more=len(ranked) > offset + limit)

    def ranked(self, query: ParsedQuery, wanted: int = 0) -> list[Ranked]:
        """Every candidate for the query, best first (blocking: runs the index searches)."""
        index_query = query.index_query
        pool = max(TITLE_POOL, wanted)
        # A quick pass first (typos only in words no title holds, one per word); when no
        # candidate matches every word, a thorough one (typos everywhere, two in long words).
        candidates = self._index.candidates(index_query, pool, body_limit=BODY_POOL, thorough=False)
        ranked = rank(query, candidates)
        if index_query.words and _worth_a_second_pass(ranked, len(index_query.scored_words)):
            wider = self._index.candidates(index_query, pool, body_limit=BODY_POOL)
            seen = {c.article_id for c in wider}
            ranked = rank(query, wider + [c for c in candidates if c.article_id not in seen])
        return ranked


def _worth_a_second_pass(ranked: list[Ranked], words: int) -> bool:
    """Whether no candidate matches every word in its title, or alone in its body."""
    if not ranked:
        return True
    best = ranked[0]
    if best.title_matched >= words * TYPO_TITLE[-1]:
        return False
    everywhere = words * BODY
    unique_body_match = best.words_matched >= everywhere and (
        len(ranked) == 1 or ranked[1].words_matched < everywhere
    )
    return not unique_body_match


def rank(query: ParsedQuery, candidates: Sequence[Candidate]) -> list[Ranked]:
    """Order candidates by how well they match each query word, then by title similarity."""
    if not candidates:
        return []
    index_query = query.index_query
    words = index_query.scored_words
    titles = [c.title_terms for c in candidates]
    holders: dict[str, list[int]] = {}  # title token -> the candidates whose title has it
    for i, title in enumerate(titles):
        for token in set(title):
            holders.setdefault(token, []).append(i)
    vocabulary = list(holders)
    last = len(words) - 1 if index_query.prefix_last and index_query.words else -1
    matched = [0.0] * len(candidates)
    in_title = [0.0] * len(candidates)
    for bit, word in enumerate(words):
        best = [0.0] * len(candidates)
        for token, worth in _title_matches(word, vocabulary, bit == last).items():
            for i in holders[token]:
                best[i] = max(best[i], worth)
        for i, candidate in enumerate(candidates):
            in_title[i] += best[i]
            in_body = candidate.body_words >> bit & 1
            matched[i] += max(best[i], BODY) if in_body else best[i]
    similarity = [0.0] * len(candidates)
    joined = " ".join(words)
    for _, score, i in process.extract(
        joined,
        [" ".join(title) for title in titles],
        scorer=fuzz.partial_ratio,
        processor=None,
        limit=None,
    ):
        similarity[i] = score / 100
    ranked = [
        Ranked(
            candidate,
            round(
                (matched[i] + SIMILARITY_WEIGHT * similarity[i]) / (len(words) + SIMILARITY_WEIGHT),
                6,
            ),
            matched[i],
            in_title[i],
        )
        for i, candidate in enumerate(candidates)
    ]
    ranked.sort(key=lambda r: (r.score, r.candidate.sort_ts, r.candidate.article_id), reverse=True)
    return ranked


def _title_matches(word: str, vocabulary: list[str], as_prefix: bool) -> dict[str, float]:
    """What each title token is worth to this query word (tokens worth nothing left out)."""
    found: dict[str, float] = {}
    distance = edit_distance_for(word)
    if distance:
        for token, typos, _ in process.extract(
            word, vocabulary, scorer=OSA.distance, score_cutoff=distance, limit=None
        ):
            found[token] = TYPO_TITLE[int(typos)]
    elif word in set(vocabulary):
        found[word] = EXACT_TITLE
    if as_prefix and len(word) >= 3:
        longer = [token for token in vocabulary if len(token) > len(word)]
        heads = process.extract(
            word,
            [token[: len(word)] for token in longer],
            scorer=OSA.distance,
            score_cutoff=prefix_distance_for(word),
            limit=None,
        )
        for _, _, i in heads:
            token = longer[i]
            found[token] = max(found.get(token, 0.0), PREFIX_TITLE)
    return found
