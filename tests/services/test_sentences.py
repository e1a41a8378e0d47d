"""Sentence splitting on the punctuation habits of news text."""

from __future__ import annotations

import pytest

from services.sentences import split_paragraphs, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Hale went to the quay. He said hello.",
            ["Mr. Hale went to the quay.", "He said hello."],
        ),
        (
            "The U.S. economy grew. The U.K. did not.",
            ["The U.S. economy grew.", "The U.K. did not."],
        ),
        (
            "She moved to the U.S. The weather suits her.",
            ["She moved to the U.S.", "The weather suits her."],
        ),
        (
            "Fares rose to $1.28 on Nov. 24. Riders complained.",
            ["Fares rose to $1.28 on Nov. 24.", "Riders complained."],
        ),
        ('He said: "We will win." Then he left.', ['He said: "We will win."', "Then he left."]),
        (
            "“We will win,” she said. “They won\u2019t.” Then she left.",
            ["“We will win,” she said.", "“They won\u2019t.”", "Then she left."],
        ),
        ('"Why?" he asked. Nobody knew.', ['"Why?" he asked.', "Nobody knew."]),
        ("J. K. Brennan wrote it. It sold well.", ["J. K. Brennan wrote it.", "It sold well."]),
        ("Wait... What now? Nobody knows!", ["Wait...", "What now?", "Nobody knows!"]),
        (
            "Shares in Acme Corp. rose 3.5%. Rivals fell.",
            ["Shares in Acme Corp. rose 3.5%.", "Rivals fell."],
        ),
        ("It was No. 1 in the charts for weeks.", ["It was No. 1 in the charts for weeks."]),
        (
            "Doors open at 9 a.m. on Friday. Entry is free.",
            ["Doors open at 9 a.m. on Friday.", "Entry is free."],
        ),
        (
            "The Harbour Gazette\u2019s reporter wasn\u2019t there. Nor was I.",
            ["The Harbour Gazette\u2019s reporter wasn\u2019t there.", "Nor was I."],
        ),
        ("Zoë Müller won.\u00a0Ångström lost.", ["Zoë Müller won.", "Ångström lost."]),
        (
            "It cost £5.5bn (€7bn). Then he resigned.",
            ["It cost £5.5bn (€7bn).", "Then he resigned."],
        ),
        ("It rose 2.5 per cent. it fell later.", ["It rose 2.5 per cent. it fell later."]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_newlines_end_sentences_and_blank_lines_vanish() -> None:
    text = "  A headline without a stop \n\nFirst line. Second line.\nThird line  \n\n\n"
    assert split_sentences(text) == [
        "A headline without a stop",
        "First line.",
        "Second line.",
        "Third line",
    ]


def test_split_paragraphs_strips_and_drops_empty_lines() -> None:
    assert split_paragraphs(" one \n\n\t\n two\r\nthree ") == ["one", "two", "three"]


def test_empty_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n \n") == []
