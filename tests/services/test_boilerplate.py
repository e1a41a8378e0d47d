"""Removing appeals, prompts, link lines and copyright lines from article bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.boilerplate import strip_boilerplate

SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_c74e056f559fd1b5.txt"

STORY = [
    "The council of Port Ellery voted on Tuesday to build a sea wall around the old harbour.",
    "The wall will cost £12.5m and take three years to finish, officials said.",
    "Fishing crews, who lost boats in last winter's storms, welcomed the decision.",
]
APPEAL = [
    "A message from our editor-in-chief",
    "Thank you for reading. Independent local journalism costs money to produce.",
    "Readers like you keep our newsroom open. Please support our work with a donation today.",
    "— Mara Quill, Editor",
]


def test_closing_appeal_and_everything_after_it_is_removed() -> None:
    body = "\n\n".join([*STORY, *APPEAL])
    assert strip_boilerplate(body) == "\n\n".join(STORY)


@pytest.mark.parametrize(
    "heading",
    [
        "Support our journalism",
        "Before you go, please consider supporting our nonprofit newsroom.",
        "Become a member",
        "We need your help",
    ],
)
def test_other_appeal_openings(heading: str) -> None:
    body = "\n".join([*STORY, heading, "Every donation keeps our journalism free for everyone."])
    assert strip_boilerplate(body) == "\n\n".join(STORY)


@pytest.mark.parametrize(
    "line",
    [
        "Read more: Storm damage along the coast",
        "READ MORE",
        "Read more about the sea wall here",
        "Related: How harbours prepare for winter",
        "Related stories — Coastal flooding in pictures",
        "See also: The history of Port Ellery",
        "Sign up for our newsletter",
        "Subscribe to The Morning Tide",
        "Get the best local stories in your inbox every morning.",
        "Follow us on Twitter",
        "Follow the Harbour Gazette on Facebook and Instagram",
        "Share this article",
        "Share on WhatsApp",
        "Click here to see the plans",
        "© 2024 Harbour Gazette Ltd",
        "Copyright 2024 Harbour Gazette. All rights reserved.",
        "Copyright © Harbour Gazette Ltd, all rights reserved",
        "All rights reserved.",
        "Advertisement",
    ],
)
def test_prompt_and_link_lines_are_removed(line: str) -> None:
    body = "\n".join([STORY[0], line, STORY[1], STORY[2]])
    assert strip_boilerplate(body) == "\n\n".join(STORY)


@pytest.mark.parametrize(
    "paragraph",
    [
        "The mayor said the council's newsletter would publish the plans, and residents could "
        "subscribe to updates on the council website.",
        "Copyright infringement cases rose by 40% in 2004, the trade body said.",
        "Share prices in the harbour company rose 3% after the vote.",
        "Follow-up surveys of the sea bed are planned for the spring.",
        "Related costs, such as new moorings, will be met by the port authority.",
        "Read the full council report, the mayor urged residents.",
        "Before you go to the harbour this weekend, check the tide tables, the coastguard said.",
        "Clicking through the plans online, residents can see every stage of the work.",
    ],
)
def test_story_paragraphs_that_mention_prompt_words_are_kept(paragraph: str) -> None:
    body = "\n\n".join([*STORY, paragraph])
    assert strip_boilerplate(body) == body


def test_long_paragraph_starting_like_a_prompt_is_story_text() -> None:
    long_paragraph = "Read more widely, the report shows " + "the harbour shrinking " * 12 + "."
    body = "\n\n".join([STORY[0], long_paragraph])
    assert strip_boilerplate(body) == body


def test_appeal_like_heading_followed_by_a_long_story_is_kept() -> None:
    later = [
        f"Paragraph {i} of the story tells how the sea wall rose, stone by stone."
        for i in range(60)
    ]
    body = "\n\n".join([STORY[0], "A message from the harbour master", *later])
    assert strip_boilerplate(body) == body


def test_appeal_heading_as_first_paragraph_is_not_a_closing_appeal() -> None:
    body = "\n\n".join(
        ["A message from our founder", "Donations to journalism schools rose in 2024."]
    )
    assert strip_boilerplate(body) == body


def test_appeal_heading_without_appeal_after_it_is_kept() -> None:
    body = "\n\n".join([*STORY, "A letter from the mayor", "It thanked the fishing crews."])
    assert strip_boilerplate(body) == body


def test_paragraphs_are_trimmed_and_joined_with_blank_lines() -> None:
    body = "  first paragraph.  \nsecond paragraph.\n\n\n\tthird paragraph.\n"
    assert strip_boilerplate(body) == "first paragraph.\n\nsecond paragraph.\n\nthird paragraph."


def test_idempotent_and_empty() -> None:
    body = "\n".join([*STORY, "Sign up for our newsletter", *APPEAL])
    once = strip_boilerplate(body)
    assert strip_boilerplate(once) == once
    assert strip_boilerplate("") == ""
    assert strip_boilerplate("\n \n") == ""


@pytest.mark.skipif(not SEED.is_file(), reason="the seed article is not present")
def test_seed_article_loses_its_publisher_appeal() -> None:
    cleaned = strip_boilerplate(SEED.read_text(encoding="utf-8"))
    assert "A message from our CEO" not in cleaned
    assert "Publisher and CEO" not in cleaned
    assert "support the Forward" not in cleaned
    assert cleaned.endswith("in exchange for sanctions relief.")
    assert "President Barack Obama wrote to Iran\u2019s supreme leader" in cleaned
