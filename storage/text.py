"""Term folding shared by the search index and the queries that search it.

It mirrors the index's analyzer (tantivy's simple tokenizer, then lowercase and ASCII
folding) so that a query word and an indexed word meet on the same term.
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"[^\W_]+")
# The accents ASCII folding removes; marks of other scripts (Devanagari vowel signs...) stay,
# as they do in the index.
_LATIN_COMBINING_MARKS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+"
)
_MAX_TOKEN_BYTES = 40
# Letters that NFKD does not decompose but ASCII folding maps all the same.
_EXTRA_FOLDS = str.maketrans(
    {"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ł": "l", "þ": "th"}
)


def fold(text: str) -> str:
    """Lowercase, strip accents and fold letters to their ASCII look-alikes where one exists."""
    if text.isascii():  # the common case, and 50 times faster than decomposing
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_EXTRA_FOLDS))
    return _LATIN_COMBINING_MARKS.sub("", decomposed)


def tokens(text: str) -> list[str]:
    """The folded index terms of a text, in order."""
    folded = fold(text)
    found = _TOKEN.findall(folded)
    if folded.isascii():  # one byte per character: no need to encode to measure
        return [token for token in found if len(token) < _MAX_TOKEN_BYTES]
    return [token for token in found if len(token.encode("utf-8")) < _MAX_TOKEN_BYTES]
