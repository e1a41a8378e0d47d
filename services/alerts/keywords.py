"""Subscription keywords: parsing what users type, and the stems articles are matched on."""

from __future__ import annotations

from dataclasses import dataclass

from storage.text import tokens

MAX_KEYWORDS = 20
_SUFFIXES = ("ingly", "edly", "ings", "ing", "ies", "ied", "ed", "es", "s")
_MIN_STEM = 4


def stem(word: str) -> str:
    """A light English stem, so "elections", "elected" and "election" meet.

    Deliberately conservative: it only strips common inflections and never cuts a word
    below four letters ("news" stays "news", not "new").
    """
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    if word.endswith("e") and len(word) > _MIN_STEM:
        word = word[:-1]
    return word


def stems_of(text: str) -> frozenset[str]:
    """The stems of every word of a text."""
    return frozenset(stem(token) for token in tokens(text))


@dataclass(frozen=True, slots=True)
class KeywordQuery:
    include: tuple[str, ...]  # folded words; empty means "every article"
    exclude: tuple[str, ...]


def parse_keywords(text: str) -> KeywordQuery:
    """``obama iran -sport`` -> include (obama, iran), exclude (sport)."""
    include: list[str] = []
    exclude: list[str] = []
    for part in text.split():
        target = exclude if part.startswith("-") and len(part) > 1 else include
        for word in tokens(part.lstrip("-")):
            if word not in target:
                target.append(word)
    return KeywordQuery(tuple(include[:MAX_KEYWORDS]), tuple(exclude[:MAX_KEYWORDS]))
