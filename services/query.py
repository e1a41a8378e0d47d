"""The small query language users type: words, "phrases", -exclusions, source:, since:, before:.

Nothing a user types is an error: syntax that does not parse is searched as words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from storage.search_index import IndexQuery
from storage.text import tokens

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 16

_CURLY_QUOTES = str.maketrans(
    {"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'"}
)
_PART = re.compile(r'"([^"]*)"?|(\S+)')
_OPERATOR = re.compile(r"^(source|since|before):(.+)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    text: str  # what was searched, after trimming
    index_query: IndexQuery
    truncated: bool

    @property
    def is_empty(self) -> bool:
        return self.index_query.is_empty

    @property
    def words(self) -> tuple[str, ...]:
        return self.index_query.words


def clean_query_text(raw: str) -> tuple[str, bool]:
    """Collapse whitespace and cap the length; report whether anything was cut."""
    text = " ".join(raw.translate(_CURLY_QUOTES).split())
    if len(text) <= MAX_QUERY_CHARS:
        return text, False
    cut = text[:MAX_QUERY_CHARS]
    # Cut at a word boundary so the last word is not a fragment we would then prefix-match.
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut), True


def parse_query(raw: str) -> ParsedQuery:
    """Parse user input into an index query."""
    text, truncated = clean_query_text(raw)
    words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[str] = []
    source_terms: tuple[str, ...] = ()
    since_ts: int | None = None
    before_ts: int | None = None
    for match in _PART.finditer(text):
        quoted, bare = match.group(1), match.group(2)
        if quoted is not None:
            phrase = tuple(tokens(quoted))
            if phrase:
                phrases.append(phrase)
            continue
        operator = _OPERATOR.match(bare)
        if operator:
            name, value = operator.group(1).lower(), operator.group(2)
            if name == "source" and tokens(value):
                source_terms = tuple(tokens(value))
                continue
            moment = _parse_day(value)
            if moment is not None:
                if name == "since":
                    since_ts = moment
                else:
                    before_ts = moment
                continue
        if bare.startswith("-") and len(bare) > 1:
            excluded.extend(tokens(bare[1:]))
            continue
        words.extend(tokens(bare))
    if len(words) > MAX_QUERY_WORDS:
        words, truncated = words[:MAX_QUERY_WORDS], True
    # A word still being typed has no trailing space; a trimmed query loses that signal,
    # so any query whose last part is a bare word may end in an unfinished word.
    prefix_last = bool(words) and not text.endswith('"')
    index_query = IndexQuery(
        words=tuple(words),
        prefix_last=prefix_last,
        phrases=tuple(phrases),
        excluded=tuple(excluded),
        source_terms=source_terms,
        since_ts=since_ts,
        before_ts=before_ts,
    )
    return ParsedQuery(text=text, index_query=index_query, truncated=truncated)


def _parse_day(value: str) -> int | None:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
