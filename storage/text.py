"""Term folding shared by the search index and the queries that search it.

It mirrors the index's analyzer (tantivy's simple tokenizer, then lowercase and ASCII
folding) so that a query word and an indexed word meet on the same term.
"""

from __future__ import annotations

import re
import unicodedata

_TOKEN = re.compile(r"[^\W_]+")
_MAX_TOKEN_BYTES = 40
# Letters that NFKD does not decompose but ASCII folding maps all the same.
_EXTRA_FOLDS = str.maketrans(
    {"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ł": "l", "þ": "th"}
)


def fold(text: str) -> str:
    """Lowercase, strip accents and fold letters to their ASCII look-alikes where one exists."""
    lowered = text.lower().translate(_EXTRA_FOLDS)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def tokens(text: str) -> list[str]:
    """The folded index terms of a text, in order."""
    return [
        token
        for token in _TOKEN.findall(fold(text))
        if len(token.encode("utf-8")) < _MAX_TOKEN_BYTES
    ]
