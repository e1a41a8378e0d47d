"""HTML pages: metadata from the head, story paragraphs from the main content block.

Boilerplate (navigation, header, footer, asides, forms, scripts, ads, share buttons,
related links, cookie banners, comments) is dropped; the main block is <article>,
[itemprop=articleBody] or <main> when they hold the story, else the block with the most
paragraph text (a small readability-style density score).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import lxml.etree  # type: ignore[import-untyped]
import lxml.html  # type: ignore[import-untyped]

from services.parsing.dates import parse_datetime
from services.parsing.decoding import DocumentError, read_document
from services.parsing.results import RawArticle, Rejected
from services.text import clean_title, join_paragraphs, normalize_whitespace
from services.urls import is_http_url

# Removed wherever they are: never part of a story's running text.
_DROP_TAGS = (
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
    "form", "button", "input", "select", "textarea", "nav", "header", "footer", "aside",
    "dialog", "menu", "figcaption",
)  # fmt: skip
_DROP_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
# class/id words of boilerplate blocks, matched as whole words ("ad" never matches "header").
_BOILERPLATE_WORDS = frozenset(
    {
        "ad", "ads", "adslot", "adunit", "banner", "byline", "caption", "comment", "comments",
        "consent", "disqus", "gdpr", "masthead", "menu", "modal", "nav", "navbar",
        "navigation", "outbrain", "popup", "recommended", "related", "signup", "subscribe",
        "taboola", "toolbar", "trending",
    }
)  # fmt: skip
_BOILERPLATE_PREFIXES = (
    "advert", "breadcrumb", "cookie", "footer", "newsletter", "promo", "share", "sidebar",
    "social", "sponsor",
)  # fmt: skip
# Words that mark the story itself: "article-body has-related" is content, not a related box.
_CONTENT_WORDS = frozenset({"article", "body", "content", "entry", "main", "post", "story", "text"})
_CAMEL_HUMP = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[a-z]+")

_TEXT_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_TITLE_SEPARATORS = (" | ", " - ", " \u2013 ", " \u2014 ", " :: ", " \u00b7 ", " \u2022 ")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_MIN_PARAGRAPH_CHARS = 25  # shorter <p>s (captions, labels) do not vote for a container
_MAX_LINK_DENSITY = 0.5


def parse_html(path: Path) -> Iterator[RawArticle | Rejected]:
    """Read one article from an HTML page."""
    try:
        text = read_document(path, html=True)
    except DocumentError as exc:
        yield Rejected(str(path), str(exc))
        return
    yield parse_html_text(text, str(path))


def parse_html_text(text: str, location: str) -> RawArticle | Rejected:
    """Extract the article of an already decoded HTML page."""
    if not text.strip():
        return Rejected(location, "empty file")
    try:
        # lxml refuses str input that still carries an XML encoding declaration.
        doc = lxml.html.document_fromstring(_XML_DECLARATION.sub("", text))
    except (lxml.etree.ParserError, ValueError):
        return Rejected(location, "not an HTML page (no elements)")
    # Metadata first: finding the story text removes <head> scripts and <header>s.
    metas = _meta_tags(doc)
    site_name = normalize_whitespace(metas.get("og:site_name", "")) or None
    title = _title(doc, metas, site_name)
    if not title:
        return Rejected(location, "no title found")
    url = _url(doc, metas)
    published_at = _published(doc, metas)
    description = metas.get("og:description") or metas.get("description") or ""
    body = _story_text(doc, title)
    if not body:
        return Rejected(location, "no article text found")
    return RawArticle(
        title=title,
        body=body,
        url=url,
        source=site_name,
        published_at=published_at,
        summary=normalize_whitespace(description) or None,
    )


# --- metadata ---------------------------------------------------------------------------


def _meta_tags(doc: Any) -> dict[str, str]:
    """The first non-empty content of each <meta> by property/name/itemprop, keys lowercased."""
    found: dict[str, str] = {}
    for meta in doc.iter("meta"):
        content = (meta.get("content") or "").strip()
        for attribute in ("property", "name", "itemprop"):
            key = (meta.get(attribute) or "").strip().lower()
            if key and content:
                found.setdefault(key, content)
    return found


def _title(doc: Any, metas: dict[str, str], site_name: str | None) -> str:
    candidates = [metas.get("og:title"), _text_of_first(doc, _ARTICLE_H1)]
    candidates.append(_json_ld_value(doc, "headline"))
    candidates.append(_text_of_first(doc, "//title"))
    candidates.append(_text_of_first(doc, "//h1"))
    for candidate in candidates:
        title = clean_title(candidate or "")
        if title:
            return _strip_site_name(title, site_name) if site_name else title
    return ""


_ARTICLE_H1 = "//article//h1 | //*[@itemprop='articleBody']//h1 | //main//h1"


def _strip_site_name(title: str, site_name: str) -> str:
    folded_title, folded_site = title.casefold(), site_name.casefold()
    for separator in _TITLE_SEPARATORS:
        folded_separator = separator.casefold()
        if folded_title.endswith(folded_separator + folded_site):
            stripped = title[: -len(separator + site_name)].strip()
        elif folded_title.startswith(folded_site + folded_separator):
            stripped = title[len(site_name + separator) :].strip()
        else:
            continue
        if stripped:
            return stripped
    return title


def _url(doc: Any, metas: dict[str, str]) -> str | None:
    canonicals = [
        (link.get("href") or "").strip()
        for link in doc.iter("link")
        if "canonical" in (link.get("rel") or "").lower().split()
    ]
    for candidate in [*canonicals, metas.get("og:url", "")]:
        if candidate and is_http_url(candidate):
            return candidate
    return None  # relative links cannot be resolved: a file has no base URL


def _published(doc: Any, metas: dict[str, str]) -> datetime | None:
    candidates = [metas.get("article:published_time"), metas.get("datepublished")]
    candidates.extend(time.get("datetime") for time in doc.iter("time"))
    candidates.append(_json_ld_value(doc, "datePublished"))
    for candidate in candidates:
        published = parse_datetime(candidate)
        if published is not None:
            return published
    return None


def _json_ld_value(doc: Any, key: str) -> str | None:
    """The first string value of ``key`` in any JSON-LD block, searching nested objects."""
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            pending = [json.loads(script.text or "")]
        except (ValueError, RecursionError):
            continue
        while pending:
            item = pending.pop(0)
            if isinstance(item, dict):
                value = item.get(key)
                if isinstance(value, str) and value.strip():
                    return value
                pending.extend(item.values())
            elif isinstance(item, list):
                pending.extend(item)
    return None


def _text_of_first(doc: Any, xpath: str) -> str | None:
    for element in doc.xpath(xpath):
        text = normalize_whitespace(element.text_content())
        if text:
            return text
    return None


# --- story text -------------------------------------------------------------------------


def _story_text(doc: Any, title: str) -> str:
    _drop_hidden_and_chrome(doc)
    for br in doc.iter("br"):  # <br> separates words even though it has no text
        br.tail = "\n" + (br.tail or "")
    preferred = _preferred_container(doc)
    _drop_boilerplate(doc, keep=preferred)
    densest = _densest_block(doc)
    container = densest if densest is not None else doc.find("body")
    if preferred is not None and (
        densest is None or _paragraph_chars(preferred) >= _paragraph_chars(densest) / 2
    ):
        container = preferred
    if container is None:
        return ""
    return join_paragraphs(_paragraphs(container, title)) or _loose_text(container)


def _drop_hidden_and_chrome(doc: Any) -> None:
    doomed = [
        element
        for element in doc.iter()
        if isinstance(element.tag, str)
        and (
            element.tag in _DROP_TAGS
            or (element.get("role") or "").strip().lower() in _DROP_ROLES
            or element.get("hidden") is not None
            or (element.get("aria-hidden") or "").strip().lower() == "true"
            or "display:none" in (element.get("style") or "").replace(" ", "").lower()
        )
    ]
    _drop_all(doomed)


def _preferred_container(doc: Any) -> Any | None:
    """The semantic story container holding the most paragraph text, if there is one."""
    for xpath in ("//*[@itemprop='articleBody']", "//article", "//main", "//*[@role='main']"):
        candidates = [(element, _paragraph_chars(element)) for element in doc.xpath(xpath)]
        candidates = [pair for pair in candidates if pair[1] > 0]
        if candidates:
            return max(candidates, key=lambda pair: pair[1])[0]
    return None


def _drop_boilerplate(doc: Any, keep: Any | None) -> None:
    """Drop ad/share/related/... blocks by their class and id, sparing the story container."""
    spared = set() if keep is None else {keep, *keep.iterancestors()}
    doomed = []
    for element in doc.iter():
        if not isinstance(element.tag, str) or element.tag in ("html", "body"):
            continue
        if element in spared:
            continue
        words = _class_words(element)
        if not words or not _looks_like_boilerplate(words):
            continue
        # "article-body has-related" is the story; a link list called "article-related" is not.
        if words & _CONTENT_WORDS and _link_density(element) <= _MAX_LINK_DENSITY:
            continue
        doomed.append(element)
    _drop_all(doomed)


def _class_words(element: Any) -> set[str]:
    names = f"{element.get('class') or ''} {element.get('id') or ''}"
    return set(_WORD.findall(_CAMEL_HUMP.sub(r"\1 \2", names).lower()))


def _looks_like_boilerplate(words: set[str]) -> bool:
    return bool(words & _BOILERPLATE_WORDS) or any(
        word.startswith(_BOILERPLATE_PREFIXES) for word in words
    )


def _densest_block(doc: Any) -> Any | None:
    """The element whose paragraphs score highest (readability: parent + half to grandparent)."""
    scores: dict[Any, float] = {}
    for paragraph in doc.iter("p"):
        length = len(normalize_whitespace(paragraph.text_content()))
        if length < _MIN_PARAGRAPH_CHARS:
            continue
        score = 1 + paragraph.text_content().count(",") + min(length / 100, 3)
        parent = paragraph.getparent()
        if parent is None:
            continue
        scores[parent] = scores.get(parent, 0.0) + score
        grandparent = parent.getparent()
        if grandparent is not None:
            scores[grandparent] = scores.get(grandparent, 0.0) + score / 2
    if not scores:
        return None
    return max(scores, key=lambda element: scores[element] * (1 - _link_density(element)))


def _paragraphs(container: Any, title: str) -> Iterator[str]:
    """The innermost text blocks of the container, minus link lists and a repeated title."""
    title_key = title.casefold()
    previous = ""
    for block in container.iter(*_TEXT_BLOCKS):
        if next(block.iterdescendants(*_TEXT_BLOCKS), None) is not None:
            continue  # a list item or quote made of paragraphs: take the paragraphs
        text = normalize_whitespace(block.text_content())
        if not text or text == previous or _link_density(block, text) > _MAX_LINK_DENSITY:
            continue
        if block.tag in _HEADINGS and text.casefold() == title_key:
            continue
        previous = text
        yield text


def _loose_text(container: Any) -> str:
    """Text of a container without paragraph markup, split where blocks or <br>s were."""
    for element in container.iter("div", "section", "tr", "dd", "dt", "pre"):
        element.tail = "\n" + (element.tail or "")
    return join_paragraphs(container.text_content().split("\n"))


def _paragraph_chars(element: Any) -> int:
    return sum(len(normalize_whitespace(p.text_content())) for p in element.iter("p"))


def _link_density(element: Any, text: str | None = None) -> float:
    total = len(text if text is not None else normalize_whitespace(element.text_content()))
    if total == 0:
        return 0.0
    linked = sum(len(normalize_whitespace(a.text_content())) for a in element.iter("a"))
    return min(linked / total, 1.0)


def _drop_all(elements: list[Any]) -> None:
    for element in elements:
        if element.getparent() is not None:  # the root element cannot be dropped
            element.drop_tree()
