"""Folding and tokenising, the one definition of a term for the index and its queries.

The index is fed the terms ``tokens`` makes, joined by spaces (tantivy only splits them on
whitespace), and every query is tokenised by the same function: an indexed word and a query
word meet on the same term by construction, whatever the script.

- Words are runs of letters, digits and combining marks, so a Devanagari vowel sign stays
  inside its word. Accents on Latin, Greek and Cyrillic letters are folded away ("é" -> "e",
  "ё" -> "е", "ά" -> "α"), as are Arabic and Hebrew vowel points.
- Chinese, Japanese and Korean runs become overlapping character bigrams ("基准利率" ->
  基准 准利 利率), Lucene's CJK approach: no dictionary to disagree with itself between a
  query and an article, and a Korean compound (기준금리) holds the bigram of its part (금리).
- Thai, Lao, Khmer and Burmese runs are split into dictionary words by ICU's word breaker.
"""

from __future__ import annotations

import re
import unicodedata

import regex
from icu4py.breakers import WordBreaker

_ASCII_TOKEN = re.compile(r"[^\W_]+")
_TOKEN = regex.compile(r"[\p{L}\p{N}][\p{L}\p{M}\p{N}]*")
# Marks removed after decomposition: Latin/Greek/Cyrillic accents (what ASCII folding
# drops, and ё -> е), Hebrew points and Arabic vowel marks and tatweel, which writers add or
# leave out. Й and ї are letters of their own, not accented и and і: their marks stay, so
# that stemmers and dictionaries know the words. Marks of other scripts (Devanagari vowel
# signs, Thai tone marks...) are part of the word.
_FOLDED_MARKS = regex.compile(
    "(?<![\u0438\u0456])[\u0306\u0308]"
    "|[\u0300-\u0305\u0307\u0309-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    "\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]+"
)
# Scripts written without spaces, by code point range (the same ranges for the quick check,
# in the standard library's faster engine, and for the split).
_CJK = (
    "\u1100-\u11ff\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3038-\u303b\u3040-\u30ff"
    "\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff"
    "\uf900-\ufaff\uff66-\uffdc\U00020000-\U0003134f"
)
_SEGMENTED = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u19e0-\u19ff\ua9e0-\ua9ff\uaa60-\uaa7f"
_NEEDS_SPLITTING = re.compile(f"[{_CJK}{_SEGMENTED}]")
_SCRIPT_RUN = regex.compile(f"([{_CJK}]+)|([{_SEGMENTED}]+)|([^{_CJK}{_SEGMENTED}]+)")
_ASCII_SEPARATORS = re.compile(r"[\W_]+")
MAX_TERM_BYTES = 40  # as tantivy's default tokenizer: longer terms are not indexed
# Letters that NFKD does not decompose but ASCII folding maps all the same.
_EXTRA_FOLDS = str.maketrans(
    {"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "đ": "d", "ł": "l", "þ": "th"}
)
_NEEDS_EXTRA_FOLDS = re.compile("[ßæøœđłþ]")  # a search is far cheaper than translate()


def fold(text: str) -> str:
    """Lowercase, strip accents and fold letters to their ASCII look-alikes where one exists."""
    if text.isascii():  # the common case, and 50 times faster than decomposing
        return text.lower()
    lowered = text.lower()
    if _NEEDS_EXTRA_FOLDS.search(lowered):
        lowered = lowered.translate(_EXTRA_FOLDS)
    decomposed = unicodedata.normalize("NFKD", lowered)
    # Recompose what is left: Hangul syllables, Japanese voiced kana, Indic letters.
    return unicodedata.normalize("NFC", _FOLDED_MARKS.sub("", decomposed))


def words(text: str) -> list[str]:
    """The folded words of a text as written, before any segmentation ("基准利率" stays whole)."""
    folded = fold(text)
    if folded.isascii():
        return _ASCII_TOKEN.findall(folded)
    return _TOKEN.findall(folded)


def tokens(text: str) -> list[str]:
    """The folded index terms of a text, in order."""
    folded = fold(text)
    if folded.isascii():  # one byte per character: no need to encode to measure
        return [token for token in _ASCII_TOKEN.findall(folded) if len(token) < MAX_TERM_BYTES]
    return [token for token in _terms(folded) if len(token.encode("utf-8")) < MAX_TERM_BYTES]


def index_text(text: str) -> str:
    """What the index is fed for a text: its terms, separated by spaces.

    Terms of ``MAX_TERM_BYTES`` or more are left in: the index's analyzer drops them, as
    ``tokens`` does, at less cost than measuring each here.
    """
    folded = fold(text)
    if folded.isascii():  # the same runs as _ASCII_TOKEN finds, without building a list
        return _ASCII_SEPARATORS.sub(" ", folded)
    return " ".join(_terms(folded))


def _terms(folded: str) -> list[str]:
    found = _TOKEN.findall(folded)
    if _NEEDS_SPLITTING.search(folded):
        found = [term for word in found for term in _split(word)]
    return found


def _split(word: str) -> list[str]:
    """A word of a script written without spaces, as the terms it is indexed under."""
    if not _NEEDS_SPLITTING.search(word):
        return [word]
    terms: list[str] = []
    for cjk, segmented, other in _SCRIPT_RUN.findall(word):
        if cjk:
            terms.extend(_bigrams(cjk))
        elif segmented:
            terms.extend(part for part in WordBreaker(segmented, "root") if _is_word(part))
        elif _is_word(other):
            terms.append(other)
    return terms


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _is_word(part: str) -> bool:
    return any(ch.isalnum() for ch in part)
