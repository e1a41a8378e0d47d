"""OPML 2.0 feed lists: written from feeds, read from files people bring from other readers.

Reading is meant for untrusted files (a Telegram document, a download): the size is capped
before parsing, lxml never loads a DTD, expands an entity or touches the network, and a file
that declares entities is refused outright (billion laughs, external entities). Categories
(outlines nested in outlines) are flattened; each feed keeps the names of the categories it
was in. A file that cannot be read is an ``OpmlProblem`` value, never an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Literal

from lxml import etree  # type: ignore[import-untyped]

from services.feeds.guard import MAX_FEED_URL_LENGTH

# Room for several thousand outlines: more than a feed reader's export usually holds.
MAX_OPML_BYTES = 1_000_000
# The longest feed address the feeds table keeps. Longer ones are read whole (a cut address
# would be another address) and refused by whoever adds them.
MAX_URL_LENGTH = MAX_FEED_URL_LENGTH
# Titles are only shown: they are cut to what the feeds table keeps.
MAX_TITLE_LENGTH = 512
# Deeper than any real category tree; a deeper file is built to exhaust the parser.
MAX_DEPTH = 32

_ENTITY_MARKERS = tuple(
    "<!ENTITY".encode(codec)
    for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)

ProblemKind = Literal["too_large", "empty", "not_xml", "entities", "not_opml", "too_deep"]


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed to write: its address, and what a reader shows for it."""

    xml_url: str
    title: str | None = None
    html_url: str | None = None


@dataclass(frozen=True, slots=True)
class OpmlOutline:
    """One feed read from a file: ``xmlUrl``, its title, site and enclosing categories."""

    xml_url: str
    title: str | None
    html_url: str | None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    title: str | None
    outlines: tuple[OpmlOutline, ...]


@dataclass(frozen=True, slots=True)
class OpmlProblem:
    """Why a file is not a usable OPML list; ``detail`` is the parser's own words, if any."""

    kind: ProblemKind
    detail: str = ""


def render_opml(feeds: Iterable[OpmlFeed], *, title: str, created: datetime) -> bytes:
    """An OPML 2.0 document (UTF-8) with one ``<outline type="rss">`` per feed."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _xml_safe(title)
    etree.SubElement(head, "dateCreated").text = format_datetime(created)
    body = etree.SubElement(root, "body")
    for feed in feeds:
        name = _xml_safe(feed.title or feed.xml_url)
        outline = etree.SubElement(body, "outline", type="rss", text=name, title=name)
        outline.set("xmlUrl", _xml_safe(feed.xml_url))
        if feed.html_url:
            outline.set("htmlUrl", _xml_safe(feed.html_url))
    rendered: bytes = etree.tostring(
        root, xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    return rendered


def parse_opml(data: bytes) -> OpmlDocument | OpmlProblem:
    """The feeds of an OPML file (1.0 or 2.0), in document order, or why there are none."""
    if len(data) > MAX_OPML_BYTES:
        return OpmlProblem("too_large")
    if not data.strip():
        return OpmlProblem("empty")
    if any(marker in data for marker in _ENTITY_MARKERS):
        # Told apart before parsing: libxml2 stops an entity bomb too, but as a syntax error.
        return OpmlProblem("entities")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        return OpmlProblem("not_xml", str(error.msg or error)[:200])
    if root is None:
        return OpmlProblem("not_xml")
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        return OpmlProblem("entities")
    if _local(root) != "opml":
        return OpmlProblem("not_opml", f"the root element is <{_local(root)}>")
    body = next((child for child in root if _local(child) == "body"), None)
    if body is None:
        return OpmlProblem("not_opml", "there is no <body>")
    try:
        outlines = tuple(_outlines(body, (), 0))
    except _TooDeep:
        return OpmlProblem("too_deep")
    head = next((child for child in root if _local(child) == "head"), None)
    title_element = (
        next((c for c in head if _local(c) == "title"), None) if head is not None else None
    )
    title = _clean(title_element.text if title_element is not None else None, MAX_TITLE_LENGTH)
    return OpmlDocument(title, outlines)


class _TooDeep(Exception):
    pass


def _outlines(
    parent: etree._Element, categories: tuple[str, ...], depth: int
) -> Iterator[OpmlOutline]:
    if depth > MAX_DEPTH:
        raise _TooDeep
    for element in parent:
        if _local(element) != "outline":
            continue
        # Readers disagree on case (xmlUrl, xmlurl): attributes are matched without it.
        attributes = {str(key).lower(): str(value) for key, value in element.attrib.items()}
        name = _clean(attributes.get("title") or attributes.get("text"), MAX_TITLE_LENGTH)
        xml_url = _clean(attributes.get("xmlurl"), None)
        if xml_url:
            yield OpmlOutline(xml_url, name, _clean(attributes.get("htmlurl"), None), categories)
        # A feed outline with children is rare but legal; its children are read too.
        yield from _outlines(element, (*categories, name) if name else categories, depth + 1)


def _local(element: etree._Element) -> str:
    """The tag without a namespace (some exporters put OPML in one); "" for non-elements."""
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _clean(value: str | None, limit: int | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())[:limit]
    return value or None


def _xml_safe(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold (a feed title may contain them)."""
    return "".join(
        ch
        for ch in text
        if ch in "\t\n\r"
        or ("\x20" <= ch <= "\ud7ff")
        or ("\ue000" <= ch <= "\ufffd")
        or ch > "\uffff"
    )
