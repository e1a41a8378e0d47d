"""Subscription keywords: parsing what users type, reading its typos as words the archive
knows, and the stems articles are matched on. Subscriptions and followed feeds alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from storage.text import tokens, words

MAX_KEYWORDS = 20
# Suffix, and how many letters must remain for it to be cut ("news" keeps its "s").
_SUFFIXES = (
    ("ingly", 3),
    ("edly", 3),
    ("ings", 3),
    ("ing", 3),
    ("ies", 3),
    ("ied", 3),
    ("ed", 3),
    ("es", 4),
    ("s", 4),
)


def stem(word: str) -> str:
    """A light English stem, so "elections", "election", "voted" and "voting" meet theirs.

    Deliberately conservative: it strips common inflections only, and never leaves fewer
    than three letters ("news" stays "news", not "new").
    """
    for suffix, keep in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


@dataclass(frozen=True, slots=True)
class KeywordQuery:
    include: tuple[str, ...]  # folded words; empty means "every article"
    exclude: tuple[str, ...]


def parse_keywords(text: str) -> KeywordQuery:
    """``obama iran -sport`` -> include (obama, iran), exclude (sport).

    Words are kept as written ("基准利率" stays one keyword, not its search bigrams), so that
    the matcher can ask for all of its terms together.
    """
    include: list[str] = []
    exclude: list[str] = []
    for part in text.split():
        target = exclude if part.startswith("-") and len(part) > 1 else include
        for word in words(part.lstrip("-")):
            if word not in target:
                target.append(word)
    return KeywordQuery(tuple(include[:MAX_KEYWORDS]), tuple(exclude[:MAX_KEYWORDS]))


class Vocabulary(Protocol):
    """What the archive knows of words: used to read a typo'd keyword as what was meant."""

    def document_frequency(self, term: str) -> int: ...

    def closest_term(self, word: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Understood:
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    corrections: tuple[tuple[str, str], ...]  # (typed, understood), of the included words


def understand(keywords: KeywordQuery, vocabulary: Vocabulary) -> Understood:
    """The keywords with each word the archive has never seen read as its closest known one
    (``obma`` -> ``obama``); the corrections of included words are shown to the user."""
    include, corrections = _understand(keywords.include, vocabulary)
    exclude, _ = _understand(keywords.exclude, vocabulary)
    return Understood(include, exclude, corrections)


def _understand(
    typed: tuple[str, ...], vocabulary: Vocabulary
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    understood: list[str] = []
    corrections: list[tuple[str, str]] = []
    for word in typed:
        meant = word
        # A word search splits into several terms (Chinese, Thai...) is no typo of one.
        if len(tokens(word)) == 1 and vocabulary.document_frequency(word) == 0:
            meant = vocabulary.closest_term(word) or word
            if meant != word:
                corrections.append((word, meant))
        if meant not in understood:
            understood.append(meant)
    return tuple(understood), tuple(corrections)
