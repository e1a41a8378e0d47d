"""Telegram HTML parse mode: entities, UTF-16 offsets and tdlib's error wording."""

from __future__ import annotations

import pytest

from tests.helpers.telegram_html import EntityParseError, parse_html, utf16_len


def test_plain_text_has_no_entities() -> None:
    parsed = parse_html("just text > with a gt")
    assert parsed.text == "just text > with a gt"
    assert parsed.entities == ()


def test_nested_tags_become_entities_sorted_by_offset() -> None:
    parsed = parse_html('<b>bold <i>both</i></b> <a href="https://x.test/?a=1&amp;b=2">link</a>')
    assert parsed.text == "bold both link"
    assert parsed.entities == (
        {"type": "bold", "offset": 0, "length": 9},
        {"type": "italic", "offset": 5, "length": 4},
        {"type": "text_link", "url": "https://x.test/?a=1&b=2", "offset": 10, "length": 4},
    )


def test_offsets_count_utf16_code_units() -> None:
    parsed = parse_html("\U0001f4f0 <b>news</b>")
    assert parsed.entities == ({"type": "bold", "offset": 3, "length": 4},)
    assert utf16_len("\U0001f4f0") == 2


def test_entities_are_decoded() -> None:
    parsed = parse_html("a &lt;b&gt; &amp; &quot;c&quot; &#8364; &#x20AC;")
    assert parsed.text == 'a <b> & "c" \u20ac \u20ac'


def test_pre_code_language_and_special_tags() -> None:
    parsed = parse_html(
        '<pre><code class="language-python">x = 1</code></pre>'
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>'
        "<blockquote expandable>q</blockquote><u>u</u><s>z</s>"
        '<tg-emoji emoji-id="5368324170671202286">\U0001f44d</tg-emoji>'
    )
    types = [(e["type"], e.get("language")) for e in parsed.entities]
    assert types == [
        ("pre", "python"),
        ("spoiler", None),
        ("spoiler", None),
        ("expandable_blockquote", None),
        ("underline", None),
        ("strikethrough", None),
        ("custom_emoji", None),
    ]


def test_empty_tags_make_no_entity() -> None:
    assert parse_html("<b></b>x").entities == ()


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x>y', "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("\u20ac<u>", 'Can\'t find end tag corresponding to start tag "u"'),
        ("\u20ac<x>", 'Unsupported start tag "x" at byte offset 3'),
        ("Q&A", 'Character "&" must be escaped as "&amp;" at byte offset 1'),
        ("&nbsp;", 'Character "&" must be escaped as "&amp;" at byte offset 0'),
    ],
)
def test_malformed_html_is_rejected(html: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(html)
    assert str(caught.value) == error


def test_bare_ampersand_is_literal_when_not_strict() -> None:
    assert parse_html("Q&A &nbsp;", strict_ampersand=False).text == "Q&A &nbsp;"
