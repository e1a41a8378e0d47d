"""Small text clean-up helpers shared by the parsers and the rest of the core."""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import MappingProxyType

TITLE_MAX_CHARS = 300

# C0/C1 control characters plus invisible format characters that only ever get in the way
# (zero-width space, word joiner, BOM, soft hyphen). Controls that str.split() treats as
# whitespace (\t \n \v \f \r \x1c-\x1f \x85) are left for the whitespace helpers, so that
# words they separate stay separate. ZWJ/ZWNJ and the bidi marks are kept: emoji sequences
# and Persian/Arabic/Hebrew text need them.
_JUNK_CHARS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u200b\u2060\ufeff]")

_ASCII_JUNK = bytes([*range(0x09), *range(0x0E, 0x1C), 0x7F])

_QUOTES = MappingProxyType(
    str.maketrans(
        {
            "\u2018": "'",  # left single quotation mark
            "\u2019": "'",  # right single quotation mark / apostrophe
            "\u201a": "'",  # single low-9 quotation mark
            "\u201b": "'",  # single high-reversed-9 quotation mark
            "\u2032": "'",  # prime
            "\u201c": '"',  # left double quotation mark
            "\u201d": '"',  # right double quotation mark
            "\u201e": '"',  # double low-9 quotation mark
            "\u201f": '"',  # double high-reversed-9 quotation mark
            "\u2033": '"',  # double prime
            "\u00ab": '"',  # guillemets
            "\u00bb": '"',
        }
    )
)


def strip_junk_chars(text: str) -> str:
    """Remove control characters and invisible zero-width junk, keeping whitespace controls."""
    # Fast paths, several times quicker than the regex on long bodies: ASCII junk can only
    # be C0 controls and DEL, and printable text (newlines aside) holds no junk at all.
    if text.isascii():
        if len(text.encode("ascii").translate(None, _ASCII_JUNK)) == len(text):
            return text
    elif text.replace("\n", "").isprintable():
        return text
    return _JUNK_CHARS.sub("", text)


def normalize_whitespace(text: str) -> str:
    """Collapse every run of (Unicode) whitespace into one space and strip the ends."""
    return " ".join(text.split())


def normalize_quotes(text: str) -> str:
    """Replace curly quotes, apostrophes and guillemets with their straight ASCII forms."""
    return text.translate(_QUOTES)


def clean_title(text: str, max_chars: int = TITLE_MAX_CHARS) -> str:
    """Make a one-line title: junk characters removed, whitespace collapsed, length capped.

    Markup is left alone on purpose: ``<b>Hi</b>`` stays literal text and is escaped
    when rendered, never interpreted.
    """
    title = normalize_whitespace(strip_junk_chars(text))
    if len(title) <= max_chars:
        return title
    # Cut at a word boundary when one is reasonably close, so the title does not end mid-word.
    cut = title[: max_chars - 1]
    space = cut.rfind(" ")
    if space >= max_chars * 2 // 3:
        cut = cut[:space]
    return cut.rstrip() + "\u2026"


def join_paragraphs(paragraphs: Iterable[str]) -> str:
    """Normalise each paragraph's whitespace, drop empty ones and join with blank lines."""
    cleaned = (normalize_whitespace(strip_junk_chars(p)) for p in paragraphs)
    return "\n\n".join(p for p in cleaned if p)
