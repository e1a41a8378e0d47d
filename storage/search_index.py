"""The full-text search index: a tantivy index derived from the articles table.

The database stays the source of truth. The index holds just enough to find candidates
(folded title and body terms, source, recency) and can be rebuilt from the database at any
time. Fuzzy term expansion uses tantivy's Levenshtein automata, so a typo costs a walk of
the term dictionary rather than a comparison with every word in it.

A query runs three small searches: titles, where every query word counts once, exactly,
with typos or as a prefix (so a title holding all the words comes first, whatever their
frequency); bodies, by BM25 over exact words (pruned by block-max WAND, so common words cost
little); and, over the candidates of both, which query words each body holds. The caller
ranks the candidates (services.search, with rapidfuzz).

Typo expansion walks each segment's term dictionary, so the number of large segments sets
the cost of a query: big loads go through one writer with a large heap and one commit.

An index on disk is reopened as it is when its recorded state matches its last commit, and
wiped (for the follower to rebuild) otherwise: see ``storage.index_state``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy
from rapidfuzz.distance import OSA

from storage.index_state import (
    IndexState,
    StateProblem,
    check_commit,
    directory_lock,
    is_empty_directory,
    read_state,
    wipe,
    write_state,
)
from storage.text import MAX_TERM_BYTES, index_text

log = logging.getLogger(__name__)

_ANALYZER = "news"
_WRITER_HEAP = 64_000_000
# For loads of many articles (a rebuild, a first catch-up): fewer, larger segments.
BULK_WRITER_HEAP = 400_000_000
# Body hits report which query words they hold as bits of a float score (exact to 2**24).
MAX_SCORED_WORDS = 16
LONG_WORD = 7  # letters from which a word may carry two typos
# Words in more than this share of bodies (and more than CHEAP_POSTINGS of them) are left
# out of the body search.
COMMON_BODY_WORD_SHARE = 0.1
CHEAP_POSTINGS = 10_000
# First-pass weights of a title word match; the final ranking is services.search's.
_EXACT, _PREFIX, _TYPO = 1.0, 0.85, 0.8


class IndexBusyError(RuntimeError):
    """Another process holds the index writer; it is keeping the index up to date."""


@dataclass(frozen=True, slots=True)
class IndexedArticle:
    """What the index needs of an article."""

    id: int
    title: str
    body: str
    source: str | None
    sort_ts: int  # seconds since the epoch of the article's ``sort_at``


@dataclass(frozen=True, slots=True)
class IndexQuery:
    """A parsed query, in folded terms (see ``storage.text.fold``)."""

    words: tuple[str, ...] = ()
    # The last word may be unfinished ("iran nucl"): match it as a prefix too.
    prefix_last: bool = False
    phrases: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[str, ...] = ()
    source_terms: tuple[str, ...] = ()
    since_ts: int | None = None
    before_ts: int | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.phrases)

    @property
    def scored_words(self) -> tuple[str, ...]:
        """The words a match is judged by: the free words, else the phrases' words."""
        words = self.words or tuple(word for phrase in self.phrases for word in phrase)
        return words[:MAX_SCORED_WORDS]


@dataclass(frozen=True, slots=True)
class Candidate:
    article_id: int
    title_terms: tuple[str, ...]  # the title's index terms (storage.text.tokens), in order
    sort_ts: int
    # Bit i is set when the body holds ``scored_words[i]`` exactly.
    body_words: int = 0


def edit_distance_for(word: str, max_typos: int = 2) -> int:
    """How many typos a word of this length may carry and still match (at most max_typos)."""
    if len(word) <= 2:
        return 0
    return min(1 if len(word) <= LONG_WORD - 1 else 2, max_typos)


def prefix_distance_for(word: str) -> int:
    """Typos allowed in an unfinished last word, matched as the start of a longer one."""
    return 0 if len(word) < 5 else 1


def _build_schema() -> Any:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    builder.add_text_field("title", stored=True, tokenizer_name=_ANALYZER)
    builder.add_text_field("body", stored=False, tokenizer_name=_ANALYZER)
    builder.add_text_field("source", stored=False, tokenizer_name=_ANALYZER)
    builder.add_integer_field("sort_ts", stored=False, indexed=True, fast=True)
    return builder.build()


def _analyzer() -> Any:
    # Documents arrive as storage.text.index_text made them, the terms the queries are
    # tokenised into (storage.text.tokens), space-separated: splitting them and dropping the
    # over-long ones, as tokens() does, is all that is left.
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
        .filter(tantivy.Filter.remove_long(MAX_TERM_BYTES))
        .build()
    )


class SearchIndex:
    """A tantivy index on disk (or in memory when ``path`` is None)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._schema = _build_schema()
        self._state = IndexState()
        # Why the index found on disk was wiped (it needs rebuilding), if it was.
        self.discarded: str | None = None
        if path is None:
            self._index = self._open(None)
            return
        path.mkdir(parents=True, exist_ok=True)
        with directory_lock(path):
            try:
                self._index, self._state = self._open_existing(path)
            except StateProblem as problem:
                self.discarded = f"search index at {path} {problem}"
                log.warning("%s: rebuilding it from the database", self.discarded)
                self._index, self._state = self._create(path)

    @property
    def watermark(self) -> int:
        """The last article event whose effect the index holds."""
        return self._state.watermark

    def reload(self) -> None:
        """See what other writers (or this one) committed."""
        self._index.reload()
        if self._path is None:
            return
        try:
            state = read_state(self._path)
        except StateProblem:
            return  # another process is replacing the index: keep what this one knows
        # The state is written after its commit, so it never runs ahead of the index.
        self._state = state

    def doc_count(self) -> int:
        return int(self._index.searcher().num_docs)

    def segment_count(self) -> int:
        """How many segments the index has (each adds to the cost of a typo'd query)."""
        return int(self._index.searcher().num_segments)

    def apply(
        self,
        upserts: Iterable[IndexedArticle],
        deletes: Iterable[int] = (),
        *,
        watermark: int | None = None,
    ) -> int:
        """Replace or remove articles, commit, and record the new watermark.

        Raises ``IndexBusyError`` when another process is writing.
        """
        batch = self.batch()
        try:
            count = batch.add(upserts, deletes)
            batch.commit(watermark)
        except BaseException:
            batch.rollback()
            raise
        return count

    def batch(self, heap: int = _WRITER_HEAP, *, replace_all: bool = False) -> IndexBatch:
        """A writer for changes made visible by one commit (``replace_all``: a rebuild).

        Raises ``IndexBusyError`` when another process is writing.
        """
        return IndexBatch(self, heap, replace_all)

    def clear(self) -> None:
        """Drop every document (before a rebuild)."""
        batch = self.batch(replace_all=True)
        batch.commit(0)

    def candidates(
        self,
        query: IndexQuery,
        limit: int,
        *,
        body_limit: int | None = None,
        thorough: bool = True,
    ) -> list[Candidate]:
        """Up to ``limit`` title matches and ``body_limit`` body matches for the query.

        Title matches come first, those matching the most query words (exactly, with typos,
        or as a prefix) before the others; then body matches by BM25. Unless ``thorough``,
        only words that no title holds are looked up with typos, and with one at most: the
        quick first pass, good for most queries.
        """
        if query.is_empty or limit <= 0:
            return []
        searcher = self._index.searcher()
        filters = self._filters(query)
        found: dict[tuple[int, int], Any] = {}
        for tantivy_query, size in (
            (self._title_query(searcher, query, thorough, filters), limit),
            (
                self._body_query(searcher, query, filters),
                limit if body_limit is None else body_limit,
            ),
        ):
            if tantivy_query is None or size <= 0:
                continue
            for _score, address in searcher.search(tantivy_query, size, count=False).hits:
                found.setdefault((address.segment_ord, address.doc), address)
        if not found:
            return []
        addresses = list(found.values())
        sort_ts = searcher.fast_field_values("sort_ts", addresses)
        docs = [searcher.doc(address) for address in addresses]
        ids = [int(doc["id"][0]) for doc in docs]
        body_words = self._body_words(searcher, query.scored_words, ids)
        return [
            Candidate(
                article_id,
                tuple(str(doc["title"][0]).split()),
                int(ts or 0),
                body_words.get(key, 0),
            )
            for article_id, doc, ts, key in zip(ids, docs, sort_ts, found, strict=True)
        ]

    def document_frequency(self, term: str) -> int:
        """In how many articles a folded term occurs (title or body)."""
        searcher = self._index.searcher()
        return max(int(searcher.doc_freq(f, term)) for f in ("title", "body"))

    def closest_term(self, word: str) -> str | None:
        """The most frequent indexed term within the word's typo allowance, if any.

        Used to read a subscription keyword as the word its author meant ("obma" ->
        "obama"). Only terms sharing the first letter are scanned, which keeps this to
        a fraction of the dictionary.
        """
        distance = edit_distance_for(word)
        if not distance or not word:
            return None
        searcher = self._index.searcher()
        counts: dict[str, int] = {}
        for field_name in ("title", "body"):
            for term, count in searcher.terms_with_prefix(field_name, word[0]):
                if abs(len(term) - len(word)) <= distance:
                    counts[term] = counts.get(term, 0) + int(count)
        best: tuple[int, int, str] | None = None
        for term, count in counts.items():
            typos = OSA.distance(word, term, score_cutoff=distance)
            if typos <= distance and (best is None or (typos, -count) < best[:2]):
                best = (typos, -count, term)
        return best[2] if best else None

    # -- internals -----------------------------------------------------------------

    def _writer(self, heap: int = _WRITER_HEAP) -> Any:
        try:
            return self._index.writer(heap, 1)
        except ValueError as error:
            if "lock" in str(error).lower():
                raise IndexBusyError(str(error)) from error
            raise

    def _open(self, path: Path | None) -> Any:
        index = (
            tantivy.Index(self._schema)
            if path is None
            else tantivy.Index(self._schema, path=str(path), reuse=True)
        )
        index.register_tokenizer(_ANALYZER, _analyzer())
        index.reload()  # opens every segment: a missing or truncated file fails here
        return index

    def _open_existing(self, path: Path) -> tuple[Any, IndexState]:
        """The index on disk and its state; raises ``StateProblem`` if they can't be trusted."""
        if is_empty_directory(path):
            return self._create(path)
        state = read_state(path)
        check_commit(path, state)
        try:
            return self._open(path), state
        except ValueError as error:  # tantivy's word for corrupt or missing files
            raise StateProblem(f"cannot be opened ({error})") from None

    def _create(self, path: Path) -> tuple[Any, IndexState]:
        wipe(path)
        index = self._open(path)
        state = IndexState()
        write_state(path, state)
        return index, state

    def _commit(self, writer: Any, watermark: int | None) -> None:
        """Commit, then record the state that commit reached (with the directory held)."""
        if watermark is None:
            watermark = self._state.watermark
        if self._path is None:
            self._state = IndexState(watermark, int(writer.commit()))
        else:
            with directory_lock(self._path):
                self._state = IndexState(watermark, int(writer.commit()))
                write_state(self._path, self._state)
        # Merges keep the commit's opstamp, so they may finish after the state is written.
        writer.wait_merging_threads()
        self._index.reload()

    def _document(self, article: IndexedArticle) -> Any:
        doc = tantivy.Document()
        doc.add_integer("id", article.id)
        doc.add_text("title", index_text(article.title))
        doc.add_text("body", index_text(article.body))
        if article.source:
            doc.add_text("source", index_text(article.source))
        doc.add_integer("sort_ts", article.sort_ts)
        return doc

    def _filters(self, query: IndexQuery) -> list[tuple[Any, Any]]:
        """Clauses every match must satisfy: phrases, exclusions, source and dates."""
        schema = self._schema
        occur = tantivy.Occur
        clauses: list[tuple[Any, Any]] = []
        for phrase in query.phrases:
            clauses.append((occur.Must, self._phrase_query(phrase)))
        for word in query.excluded:
            for field_name in ("title", "body"):
                clauses.append((occur.MustNot, tantivy.Query.term_query(schema, field_name, word)))
        for term in query.source_terms:
            clauses.append((occur.Must, tantivy.Query.term_query(schema, "source", term)))
        if query.since_ts is not None or query.before_ts is not None:
            low = query.since_ts if query.since_ts is not None else -(2**62)
            high = query.before_ts - 1 if query.before_ts is not None else 2**62
            clauses.append(
                (
                    occur.Must,
                    tantivy.Query.range_query(
                        schema, "sort_ts", tantivy.FieldType.Integer, low, high
                    ),
                )
            )
        return clauses

    def _title_query(
        self, searcher: Any, query: IndexQuery, thorough: bool, filters: list[tuple[Any, Any]]
    ) -> Any:
        if not query.words:
            # Phrases only: the filters are the whole query.
            return tantivy.Query.boolean_query(filters)
        last = len(query.words) - 1
        words = tantivy.Query.boolean_query(
            [
                (
                    tantivy.Occur.Should,
                    self._title_word(
                        word,
                        self._typos_to_try(searcher, word, thorough),
                        query.prefix_last and i == last,
                    ),
                )
                for i, word in enumerate(query.words)
            ]
        )
        return self._restricted(words, filters)

    @staticmethod
    def _typos_to_try(searcher: Any, word: str, thorough: bool) -> int:
        """How many typos to look for in a word (a typo costs a walk of each term dictionary).

        A word some title holds is most likely typed right: the quick pass takes it as it
        is. A typo that makes another real word is one typo; two typos make a word no
        article holds.
        """
        if searcher.doc_freq("title", word):
            return 1 if thorough else 0
        if not thorough or searcher.doc_freq("body", word):
            return 1
        return 2

    def _title_word(self, word: str, max_typos: int, as_prefix: bool) -> Any:
        schema = self._schema
        const = tantivy.Query.const_score_query
        # A word counts once however it matches; its best way of matching decides how much.
        alternatives = [const(tantivy.Query.term_query(schema, "title", word), _EXACT)]
        distance = edit_distance_for(word, max_typos)
        if distance:
            fuzzy = tantivy.Query.fuzzy_term_query(schema, "title", word, distance, True, False)
            alternatives.append(const(fuzzy, _TYPO))
        if as_prefix and len(word) >= 3:
            prefix = tantivy.Query.fuzzy_term_query(
                schema, "title", word, min(prefix_distance_for(word), max_typos), True, True
            )
            alternatives.append(const(prefix, _PREFIX))
        return tantivy.Query.disjunction_max_query(alternatives, 0.0)

    def _body_query(
        self, searcher: Any, query: IndexQuery, filters: list[tuple[Any, Any]]
    ) -> Any | None:
        # Words in most bodies say little about which body is meant and cost the most to
        # score: they only count through the candidates' body-word masks.
        common = max(COMMON_BODY_WORD_SHARE * searcher.num_docs, CHEAP_POSTINGS)
        words = [w for w in query.words if searcher.doc_freq("body", w) <= common]
        if not words:
            return None
        terms = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "body", word))
                for word in words
            ]
        )
        return self._restricted(terms, filters)

    @staticmethod
    def _restricted(words: Any, filters: list[tuple[Any, Any]]) -> Any:
        if not filters:
            return words  # a plain union of terms, which tantivy prunes best
        # Any word may match but one must: a Should next to a Must would match everything.
        return tantivy.Query.boolean_query([(tantivy.Occur.Must, words), *filters])

    def _body_words(
        self, searcher: Any, words: Sequence[str], ids: Sequence[int]
    ) -> dict[tuple[int, int], int]:
        """Which of the words each of these articles' bodies holds, as bit masks by address."""
        if not words or not ids:
            return {}
        query = tantivy.Query
        among = query.boolean_query(
            [(tantivy.Occur.Should, query.term_query(self._schema, "id", i)) for i in ids]
        )
        clauses = [(tantivy.Occur.Must, query.const_score_query(among, 0.0))]
        clauses.extend(
            (
                tantivy.Occur.Should,
                query.const_score_query(
                    query.term_query(self._schema, "body", word), float(1 << bit)
                ),
            )
            for bit, word in enumerate(words)
        )
        hits = searcher.search(query.boolean_query(clauses), len(ids), count=False).hits
        return {
            (address.segment_ord, address.doc): int(score)
            for score, address in hits
            if score >= 1.0
        }

    def _phrase_query(self, phrase: Sequence[str]) -> Any:
        if len(phrase) == 1:
            per_field = [
                tantivy.Query.term_query(self._schema, f, phrase[0]) for f in ("title", "body")
            ]
        else:
            per_field = [
                tantivy.Query.phrase_query(self._schema, f, list(phrase)) for f in ("title", "body")
            ]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in per_field])


class IndexBatch:
    """Changes to the index that become visible together, at ``commit``.

    Holds the index's writer (one per index across processes) until committed or rolled
    back. A rebuild (``replace_all``) keeps the old documents searchable until its commit.
    """

    def __init__(self, index: SearchIndex, heap: int, replace_all: bool) -> None:
        self._index = index
        self._writer: Any = index._writer(heap)
        if replace_all:
            self._writer.delete_all_documents()

    def add(self, upserts: Iterable[IndexedArticle], deletes: Iterable[int] = ()) -> int:
        """Replace or remove articles, unseen until ``commit``; return how many were added."""
        writer = self._writer
        count = 0
        for article_id in deletes:
            writer.delete_documents_by_term("id", article_id)
        for article in upserts:
            writer.delete_documents_by_term("id", article.id)
            writer.add_document(self._index._document(article))
            count += 1
        return count

    def commit(self, watermark: int | None = None) -> None:
        """Make the changes visible and record the watermark they bring the index to."""
        writer = self._writer
        try:
            self._index._commit(writer, watermark)
        finally:
            self._writer = None
            del writer

    def rollback(self) -> None:
        """Drop the changes and release the writer."""
        if self._writer is not None:
            self._writer.rollback()
            self._writer = None
