"""Feed text to plain text: HTML fragments into paragraphs, titles into one clean line.

A feed's content is already the story, so every block's text is kept (no readability-style
scoring, which would drop a short first paragraph); only scripts, styles, embeds, captions
and the trailers that feed software appends ("The post X appeared first on Y.") go.
"""

from __future__ import annotations

import html
import re
from typing import Any

import lxml.etree  # type: ignore[import-untyped]
import lxml.html  # type: ignore[import-untyped]

from services.text import join_paragraphs, normalize_whitespace, strip_junk_chars

_DROP_TAGS = (
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
    "form", "button", "input", "select", "textarea", "figcaption", "audio", "video",
)  # fmt: skip
_BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figure", "footer",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "table", "td", "th", "tr", "ul",
)  # fmt: skip
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Only entities with their semicolon: "AT&T" and "Q&A" are left alone.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_TRAILER = re.compile(
    r"(?:the post\b.{1,300}\bappeared first on\b.{1,200}"
    r"|continue reading\b.{0,80}|read (?:the )?(?:full|more)\b.{0,80}"
    r"|\[(?:…|\.\.\.)\]|\(?(?:…|\.\.\.)\)?)",
    re.IGNORECASE,
)
_TRUNCATION_MARK = re.compile(r"\s*\[(?:…|\.\.\.)\]$")


def detail_text(value: str, content_type: str | None) -> str:
    """Plain-text paragraphs ("\\n\\n" between them) of a feed text construct."""
    if _is_html(content_type):
        return html_paragraphs(value)
    return _clean(_PARAGRAPH_BREAK.split(value))


def detail_line(value: str, content_type: str | None) -> str:
    """A feed text construct as one line: markup removed, entities decoded."""
    if _is_html(content_type):
        root = _fragment(value)
        text = value if root is None else root.text_content()
        return normalize_whitespace(strip_junk_chars(text))
    # Plain titles are often escaped twice ("Tom &amp;amp; Jerry"): decode the leftovers.
    return normalize_whitespace(strip_junk_chars(_ENTITY.sub(_unescape, value)))


def html_paragraphs(fragment: str) -> str:
    """The text of an HTML fragment as paragraphs: blocks and double <br>s separate them."""
    root = _fragment(fragment)
    if root is None:
        return ""
    doomed = [element for element in root.iter(*_DROP_TAGS) if element is not root]
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()
    for element in root.iter():
        if element.tag == "br":
            element.tail = "\n" + (element.tail or "")
        elif element.tag in _BLOCK_TAGS:
            element.text = "\n\n" + (element.text or "")
            element.tail = "\n\n" + (element.tail or "")
    return _clean(_PARAGRAPH_BREAK.split(root.text_content()))


def _clean(paragraphs: list[str]) -> str:
    """Join paragraphs, dropping feed trailers and a final "[…]" truncation mark."""
    text = join_paragraphs(paragraphs)
    kept = [p for p in text.split("\n\n") if not (len(p) <= 500 and _TRAILER.fullmatch(p))]
    return _TRUNCATION_MARK.sub("", "\n\n".join(kept))


def _fragment(value: str) -> Any | None:
    cleaned = strip_junk_chars(value)
    if not cleaned.strip():
        return None
    try:
        return lxml.html.fragment_fromstring(cleaned, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return None


def _is_html(content_type: str | None) -> bool:
    return (content_type or "text/html").lower() in _HTML_TYPES


def _unescape(match: re.Match[str]) -> str:
    return html.unescape(match.group(0))
