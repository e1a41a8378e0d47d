"""OPML written and read: round trips, other readers' files, and hostile ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from services.feeds.opml import (
    MAX_DEPTH,
    MAX_OPML_BYTES,
    OpmlDocument,
    OpmlFeed,
    OpmlOutline,
    OpmlProblem,
    parse_opml,
    render_opml,
)

CREATED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def parsed(data: bytes) -> OpmlDocument:
    document = parse_opml(data)
    assert isinstance(document, OpmlDocument), document
    return document


def problem(data: bytes) -> OpmlProblem:
    result = parse_opml(data)
    assert isinstance(result, OpmlProblem), result
    return result


def test_rendered_opml_is_version_2_with_a_head_and_one_rss_outline_per_feed() -> None:
    data = render_opml(
        [
            OpmlFeed("https://news.example/rss?a=1&b=2", "News & <Views>", "https://news.example/"),
            OpmlFeed("https://blog.example/atom"),
        ],
        title="newsbot feeds",
        created=CREATED,
    )
    root = etree.fromstring(data)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert (root.tag, root.get("version")) == ("opml", "2.0")
    assert root.findtext("head/title") == "newsbot feeds"
    assert root.findtext("head/dateCreated") == "Tue, 01 Dec 2026 09:30:00 +0000"
    first, second = root.findall("body/outline")
    assert dict(first.attrib) == {
        "type": "rss",
        "text": "News & <Views>",
        "title": "News & <Views>",
        "xmlUrl": "https://news.example/rss?a=1&b=2",
        "htmlUrl": "https://news.example/",
    }
    # OPML 2.0 requires text: a feed without a title is named by its address.
    assert second.get("text") == "https://blog.example/atom"
    assert second.get("htmlUrl") is None


def test_a_title_with_characters_xml_cannot_hold_is_written_without_them() -> None:
    data = render_opml(
        [OpmlFeed("https://a.example/", "Bell\x07 \x00end")], title="t\x1b", created=CREATED
    )
    (outline,) = parsed(data).outlines
    assert outline.title == "Bell end"


_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(lambda s: s.strip() != "")


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"https://[a-z]{1,10}\.example/[a-z0-9?=&]{0,12}", fullmatch=True), _text
        ),
        max_size=8,
    )
)
def test_what_is_written_reads_back(feeds: list[tuple[str, str]]) -> None:
    data = render_opml([OpmlFeed(url, title) for url, title in feeds], title="x", created=CREATED)
    document = parsed(data)
    assert [(o.xml_url, o.title) for o in document.outlines] == [
        (url, " ".join(title.split())) for url, title in feeds
    ]


def test_categories_are_flattened_and_remembered_attributes_matched_without_case() -> None:
    data = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
    <opml version="1.0"><head><title>My  feeds</title></head><body>
      <outline text="Tech">
        <outline text="Caf\xe9" type="rss" xmlurl="https://cafe.example/rss" HTMLURL="https://cafe.example/"/>
        <outline title="Deeper"><outline text="Inner" xmlUrl="https://inner.example/feed"/></outline>
      </outline>
      <outline text="No address"/>
      <outline text="Top" xmlUrl="  https://top.example/rss  "/>
      <!-- a comment --><?pi ignored?>
    </body></opml>"""
    document = parsed(data)
    assert document.title == "My feeds"
    assert document.outlines == (
        OpmlOutline("https://cafe.example/rss", "Café", "https://cafe.example/", ("Tech",)),
        OpmlOutline("https://inner.example/feed", "Inner", None, ("Tech", "Deeper")),
        OpmlOutline("https://top.example/rss", "Top", None, ()),
    )


def test_opml_in_a_namespace_is_read() -> None:
    data = b'<opml xmlns="http://opml.org/spec2"><body><outline xmlUrl="https://a.example/"/></body></opml>'
    assert [o.xml_url for o in parsed(data).outlines] == ["https://a.example/"]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (b"  \n ", "empty"),
        (b"PK\x03\x04 binary", "not_xml"),
        (b"<opml><body><outline></body></opml>", "not_xml"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "not_opml"),
        (b"<opml><head/></opml>", "not_opml"),
        (
            b"<opml>"
            + b"<body>"
            + b"<outline>" * (MAX_DEPTH + 2)
            + b"</outline>" * (MAX_DEPTH + 2)
            + b"</body></opml>",
            "too_deep",
        ),
    ],
)
def test_files_that_are_not_opml_are_told_apart(data: bytes, kind: str) -> None:
    assert problem(data).kind == kind


def test_an_oversized_file_is_refused_before_parsing() -> None:
    outline = b'<outline xmlUrl="https://a.example/"/>'
    data = b"<opml><body>" + outline * (MAX_OPML_BYTES // len(outline) + 1) + b"</body></opml>"
    assert len(data) > MAX_OPML_BYTES
    assert problem(data) == OpmlProblem("too_large")


def test_a_billion_laughs_is_refused() -> None:
    entities = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY l0 "lol">{entities}]>'
        '<opml><body><outline text="&l9;" xmlUrl="https://a.example/"/></body></opml>'
    ).encode()
    assert problem(data).kind == "entities"


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE opml [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
        '<!DOCTYPE opml [<!ENTITY x SYSTEM "http://127.0.0.1:9/secret">]>',
    ],
)
def test_external_entities_are_never_read(doctype: str) -> None:
    data = (
        f'<?xml version="1.0"?>{doctype}'
        '<opml><body><outline text="&x;" xmlUrl="https://a.example/"/></body></opml>'
    ).encode()
    result = parse_opml(data)
    assert isinstance(result, OpmlProblem)
    assert result.kind in ("entities", "not_xml")
    assert "root:" not in result.detail


def test_an_external_dtd_is_not_loaded() -> None:
    data = (
        b'<!DOCTYPE opml SYSTEM "http://127.0.0.1:9/opml.dtd">'
        b'<opml><body><outline xmlUrl="https://a.example/"/></body></opml>'
    )
    assert [o.xml_url for o in parsed(data).outlines] == ["https://a.example/"]


def test_an_undefined_html_entity_is_a_clear_problem() -> None:
    result = problem(
        b'<opml><body><outline text="A&nbsp;B" xmlUrl="https://a.example/"/></body></opml>'
    )
    assert result.kind == "not_xml"
    assert "nbsp" in result.detail


def test_a_long_address_is_read_whole_and_long_titles_are_cut() -> None:
    url = "https://a.example/" + "p" * 3000
    data = f'<opml><body><outline text="{"t" * 600}" xmlUrl="{url}"/></body></opml>'.encode()
    (outline,) = parsed(data).outlines
    assert outline.xml_url == url  # a cut address would be another address
    assert outline.title == "t" * 512
