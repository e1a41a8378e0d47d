"""A fast rule-based sentence splitter for English news text."""

from __future__ import annotations

import re

# Words that end with a period without ending the sentence (compared lowercased, no dot).
_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "gen", "col", "lt", "sgt",
        "capt", "cmdr", "adm", "gov", "sen", "rep", "rev", "hon", "pres", "supt", "insp",
        "det", "cpl", "pte", "maj", "brig", "fr", "jan", "feb", "mar", "apr", "jun", "jul",
        "aug", "sep", "sept", "oct", "nov", "dec", "no", "nos", "vol", "vols", "pp", "fig",
        "figs", "approx", "est", "dept", "univ", "assn", "vs", "v", "cf", "al",
    }
)  # fmt: skip
# After these the period is part of the abbreviation only when a number follows ("No. 10").
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "vol", "vols", "pp", "fig", "figs"})
# Company suffixes end a sentence only before a typical opener ("... Warner Bros. But ...").
_COMPANY = frozenset({"bros", "inc", "ltd", "co", "corp", "plc", "llc"})
# Words that open a new sentence after an initialism such as "U.S." ("in the U.S. The ...").
_OPENERS = frozenset(
    {
        "the", "a", "an", "he", "she", "it", "they", "we", "i", "you", "this", "that",
        "these", "those", "there", "but", "and", "so", "yet", "however", "in", "on", "at",
        "for", "if", "when", "while", "after", "before", "his", "her", "its", "their",
        "our", "my", "some", "many", "most",
    }
)  # fmt: skip
# A candidate boundary: terminal punctuation, closing quotes/brackets, then whitespace.
# (Bounded repeats keep the scan several times faster than "+" and "*" in CPython's re.)
_CANDIDATE = re.compile(r"[.!?…]{1,4}[\"'”\u2019»)\]]{0,3}\s+")
_OPENING = "\"'“\u2018«(["
# How a complete sentence ends; a line ending otherwise is a heading, caption or byline.
SENTENCE_CLOSERS = (".", "!", "?", "…", '"', "'", "”", "\u2019", ")")
_INITIALISM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]?$")


def split_paragraphs(text: str) -> list[str]:
    """Split on newlines into stripped, non-empty paragraphs."""
    return [p for p in (line.strip() for line in text.splitlines()) if p]


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; every newline also ends a sentence."""
    sentences: list[str] = []
    for paragraph in split_paragraphs(text):
        start = 0
        for match in _CANDIDATE.finditer(paragraph):
            if _is_boundary(paragraph, match.start(), match.end()):
                sentences.append(paragraph[start : match.end()].rstrip())
                start = match.end()
        if start < len(paragraph):
            sentences.append(paragraph[start:])
    return sentences


def _is_boundary(text: str, punct: int, after: int) -> bool:
    """Whether the punctuation at text[punct] ends a sentence; text[after] starts the next."""
    first = text[after]
    opened = first in _OPENING
    if opened:
        first = text[after + 1 : after + 2]
    # A sentence starts with a capital, a digit or an opening quote; lowercase continues it.
    if first.islower() or not (opened or first.isupper() or first.isdigit()):
        return False
    if text[punct] != ".":
        return True
    token = text[text.rfind(" ", 0, punct) + 1 : punct].lstrip(_OPENING).rstrip(".")
    lowered = token.lower()
    if lowered in _ABBREVIATIONS and not (len(token) > 1 and token.isupper()):
        return lowered in _NUMBER_ABBREVIATIONS and not first.isdigit()
    if lowered in _COMPANY or _INITIALISM.match(token + "."):
        # "J. Smith", "U.S. officials" and "Warner Bros. film" go on; "the U.S. The ..." ends.
        return _next_word(text, after).lower() in _OPENERS
    return True


def _next_word(text: str, start: int) -> str:
    end = text.find(" ", start)
    return text[start : end if end >= 0 else len(text)].lstrip(_OPENING)
