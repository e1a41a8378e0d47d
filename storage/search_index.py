"""The full-text search index: a tantivy index derived from the articles table.

The database stays the source of truth. The index holds just enough to find candidates
(folded title and body terms, source, recency) and can be rebuilt from the database at any
time. Fuzzy term expansion uses tantivy's Levenshtein automata, so a typo costs a walk of
the term dictionary rather than a comparison with every word in it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tantivy
from rapidfuzz.distance import OSA

# Bump when the schema or the analyzer changes: an index of another format is rebuilt.
INDEX_FORMAT = 1
_ANALYZER = "news"
_STATE_FILE = "newsbot-state.json"
_WRITER_HEAP = 64_000_000


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


@dataclass(frozen=True, slots=True)
class Candidate:
    article_id: int
    title: str
    score: float
    sort_ts: int


@dataclass(slots=True)
class _State:
    format: int = INDEX_FORMAT
    watermark: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def edit_distance_for(word: str) -> int:
    """How many typos a word of this length may carry and still match."""
    if len(word) <= 3:
        return 0
    return 1 if len(word) <= 6 else 2


def _build_schema() -> Any:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    builder.add_text_field("title", stored=True, tokenizer_name=_ANALYZER)
    builder.add_text_field("body", stored=False, tokenizer_name=_ANALYZER)
    builder.add_text_field("source", stored=False, tokenizer_name=_ANALYZER)
    builder.add_integer_field("sort_ts", stored=False, indexed=True, fast=True)
    return builder.build()


def _analyzer() -> Any:
    # Must agree with storage.text.fold/tokens, which tokenise the queries.
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


class SearchIndex:
    """A tantivy index on disk (or in memory when ``path`` is None)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._schema = _build_schema()
        self._state = _State()
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)
            self._state = self._read_state(path)
            if self._state.format != INDEX_FORMAT:
                shutil.rmtree(path)
                path.mkdir(parents=True)
                self._state = _State()
            self._index = tantivy.Index(self._schema, path=str(path), reuse=True)
        else:
            self._index = tantivy.Index(self._schema)
        self._index.register_tokenizer(_ANALYZER, _analyzer())
        self._index.reload()

    @property
    def watermark(self) -> int:
        """The last article event whose effect the index holds."""
        return self._state.watermark

    def reload(self) -> None:
        """See what other writers (or this one) committed."""
        self._index.reload()
        if self._path is not None:
            self._state = self._read_state(self._path)

    def doc_count(self) -> int:
        return int(self._index.searcher().num_docs)

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
        writer = self._writer()
        count = 0
        try:
            for article_id in deletes:
                writer.delete_documents_by_term("id", article_id)
            for article in upserts:
                writer.delete_documents_by_term("id", article.id)
                writer.add_document(self._document(article))
                count += 1
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        finally:
            del writer
        if watermark is not None:
            self._state.watermark = watermark
            self._write_state()
        self._index.reload()
        return count

    def clear(self) -> None:
        """Drop every document (before a rebuild)."""
        writer = self._writer()
        try:
            writer.delete_all_documents()
            writer.commit()
            writer.wait_merging_threads()
        finally:
            del writer
        self._state.watermark = 0
        self._write_state()
        self._index.reload()

    def candidates(self, query: IndexQuery, limit: int) -> list[Candidate]:
        """The best ``limit`` matches for the query by BM25 and fuzzy term matches."""
        if query.is_empty or limit <= 0:
            return []
        searcher = self._index.searcher()
        hits = searcher.search(self._to_tantivy(query), limit, count=False).hits
        if not hits:
            return []
        addresses = [address for _score, address in hits]
        sort_ts = searcher.fast_field_values("sort_ts", addresses)
        found: list[Candidate] = []
        for (score, address), ts in zip(hits, sort_ts, strict=True):
            doc = searcher.doc(address)
            found.append(
                Candidate(int(doc["id"][0]), str(doc["title"][0]), float(score), int(ts or 0))
            )
        return found

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

    def _writer(self) -> Any:
        try:
            return self._index.writer(_WRITER_HEAP, 1)
        except ValueError as error:
            if "lock" in str(error).lower():
                raise IndexBusyError(str(error)) from error
            raise

    def _document(self, article: IndexedArticle) -> Any:
        doc = tantivy.Document()
        doc.add_integer("id", article.id)
        doc.add_text("title", article.title)
        doc.add_text("body", article.body)
        if article.source:
            doc.add_text("source", article.source)
        doc.add_integer("sort_ts", article.sort_ts)
        return doc

    def _to_tantivy(self, query: IndexQuery) -> Any:
        schema = self._schema
        occur = tantivy.Occur
        clauses: list[tuple[Any, Any]] = []
        if query.words:
            # Any word may match (more matches score higher), but at least one must: a
            # Should next to a Must would otherwise match everything the filters allow.
            last = len(query.words) - 1
            words = [
                (occur.Should, self._word_query(word, query.prefix_last and i == last))
                for i, word in enumerate(query.words)
            ]
            clauses.append((occur.Must, tantivy.Query.boolean_query(words)))
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
        return tantivy.Query.boolean_query(clauses)

    def _word_query(self, word: str, as_prefix: bool) -> Any:
        schema = self._schema
        boost = tantivy.Query.boost_query
        alternatives = []
        distance = edit_distance_for(word)
        for field_name, weight in (("title", 2.0), ("body", 1.0)):
            alternatives.append(boost(tantivy.Query.term_query(schema, field_name, word), weight))
            if distance:
                fuzzy = tantivy.Query.fuzzy_term_query(
                    schema, field_name, word, distance, True, False
                )
                alternatives.append(boost(fuzzy, weight * 0.5))
            if as_prefix and len(word) >= 3:
                prefix_distance = 0 if len(word) < 5 else 1
                prefix = tantivy.Query.fuzzy_term_query(
                    schema, field_name, word, prefix_distance, True, True
                )
                alternatives.append(boost(prefix, weight * 0.5))
        # The best way a word matches counts, not the sum of all of them.
        return tantivy.Query.disjunction_max_query(alternatives, 0.1)

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

    @staticmethod
    def _read_state(path: Path) -> _State:
        try:
            raw = json.loads((path / _STATE_FILE).read_text())
        except (OSError, ValueError):
            # No state file: an empty index, or one written by an older format.
            fresh = not (path / "meta.json").exists()
            return _State() if fresh else _State(format=-1)
        return _State(
            int(raw.get("format", -1)), int(raw.get("watermark", 0)), raw.get("extra", {})
        )

    def _write_state(self) -> None:
        if self._path is None:
            return
        payload = {
            "format": self._state.format,
            "watermark": self._state.watermark,
            "extra": self._state.extra,
        }
        # Written after the index commit: a crash in between only re-applies events.
        temporary = self._path / (_STATE_FILE + ".tmp")
        temporary.write_text(json.dumps(payload))
        os.replace(temporary, self._path / _STATE_FILE)
