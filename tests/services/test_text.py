"""The shared text helpers."""

from __future__ import annotations

import pytest

from services.text import (
    clean_title,
    join_paragraphs,
    normalize_quotes,
    normalize_whitespace,
    strip_junk_chars,
)


def test_normalize_whitespace() -> None:
    assert normalize_whitespace(" a\t\tb\n\u00a0c\u2003 d\r\n") == "a b c d"


def test_normalize_quotes() -> None:
    text = "\u201cIt\u2019s \u2018fine\u2019,\u201d she said. \u00abOui\u00bb \u201eJa\u201c"
    assert normalize_quotes(text) == '"It\'s \'fine\'," she said. "Oui" "Ja"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain ascii", "plain ascii"),
        ("bell\x07 and del\x7f", "bell and del"),
        ("zero\u200bwidth\u2060joiner\ufeffbom soft\u00adhyphen", "zerowidthjoinerbom softhyphen"),
        ("keep\ttab\nnewline", "keep\ttab\nnewline"),
        ("c1\x85nel and \x9ccontrol", "c1\x85nel and control"),  # NEL is whitespace
        ("rtl\u200f zwj\U0001f468\u200d\U0001f469", "rtl\u200f zwj\U0001f468\u200d\U0001f469"),
        ("caf\u00e9\x00 \u2603\x01", "caf\u00e9 \u2603"),
    ],
)
def test_strip_junk_chars(text: str, expected: str) -> None:
    assert strip_junk_chars(text) == expected


def test_clean_title() -> None:
    assert clean_title("  Big\x00  news\n\u200bto\u00adday\x1fnow ") == "Big news today now"
    assert clean_title("<i>Tags</i> stay") == "<i>Tags</i> stay"
    assert clean_title("\u2018Curly\u2019 quotes stay") == "\u2018Curly\u2019 quotes stay"


def test_clean_title_caps_length_at_a_word_boundary() -> None:
    title = clean_title("abcdefghi " * 40)
    assert len(title) <= 300
    assert title.endswith("abcdefghi\u2026")

    unbroken = clean_title("x" * 400)
    assert unbroken == "x" * 299 + "\u2026"


def test_join_paragraphs() -> None:
    assert (
        join_paragraphs(["  one  two ", "", " \u200b ", "three\nfour"]) == "one two\n\nthree four"
    )
