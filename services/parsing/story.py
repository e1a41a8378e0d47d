"""The story text of an HTML page: its main content block, without the boilerplate.

Navigation, header, footer, asides, forms, scripts and blocks whose class or id say ad,
share, related, cookie, comments and the like are dropped. The story block is <article> or
[itemprop=articleBody] when it holds the story, else the best-scoring block by a small
readability-style density score (searched within <main> when there is one), plus those of
its siblings that continue it. Paragraphs (<p>, headings, list items) are joined by blank lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from services.text import join_paragraphs, normalize_whitespace

# Removed wherever they are: never part of a story's running text.
_DROP_TAGS = (
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
    "form", "button", "input", "select", "textarea", "nav", "header", "footer", "aside",
    "dialog", "menu", "figcaption",
)  # fmt: skip
_DROP_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
# class/id words of boilerplate blocks, matched as whole words ("ad" never matches "header").
# Blocks with these words are never story text...
_JUNK_WORDS = frozenset(
    {
        "ad", "ads", "adslot", "adunit", "comment", "commentlist", "comments", "consent",
        "disqus", "gallery", "gdpr", "outbrain", "taboola",
    }
)  # fmt: skip
_JUNK_PREFIXES = ("advert", "cookie", "newsletter", "sponsor")
# ...while these also name layouts ("layout-with-sidebar", "share-wrapper") that may wrap it.
_CHROME_WORDS = frozenset(
    {
        "banner", "byline", "caption", "masthead", "menu", "modal", "nav", "navbar",
        "navigation", "popup", "recommended", "related", "signup", "subscribe", "toolbar",
        "trending",
    }
)  # fmt: skip
_CHROME_PREFIXES = ("breadcrumb", "footer", "promo", "share", "sidebar", "social")
# Words that mark the story itself: "article-body has-related" is content, not a related box.
_CONTENT_WORDS = frozenset({"article", "body", "content", "entry", "main", "post", "story", "text"})
_CAMEL_HUMP = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[a-z]+")

# Block-level elements: a <div> containing none of these is really a paragraph.
_BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "main", "ol", "p", "pre", "section",
    "table", "td", "th", "tr", "ul",
)  # fmt: skip
# <br> becomes this paragraph separator: whitespace for str.split(), so a single <br> reads
# as a space, while two or more in a row end a paragraph.
_BREAK = "\u2029"
_PARAGRAPH_BREAK = re.compile(r"\s*\u2029(?:\s*\u2029)+\s*")
_PRE_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*|\s*\u2029(?:\s*\u2029)+\s*")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_TEXT_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre")
# The blocks whose text counts as running prose when weighing containers.
_PROSE_BLOCKS = ("p", "li", "pre")
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_MIN_PARAGRAPH_CHARS = 25  # shorter <p>s (captions, labels) do not vote for a container
_MAX_LINK_DENSITY = 0.5
_MIN_SIBLING_SCORE = 10.0
# A paragraph's score credited to its parent, grandparent and on up (as readability does).
_ANCESTOR_SHARES = (1.0, 1 / 2, 1 / 6, 1 / 9, 1 / 12)
_SENTENCE_END = re.compile(r"\.( |$)")


def story_text(doc: Any, title: str) -> str:
    """The story of a parsed page (modified in place) as paragraphs; "" when none is found."""
    _drop_hidden_and_chrome(doc)
    _mark_line_breaks(doc)
    _promote_text_divs(doc)
    # (lxml elements without children are falsy, hence no "or" between them.)
    preferred = _largest(doc, "//*[@itemprop='articleBody']")
    if preferred is None:
        preferred = _largest(doc, "//article")
    _drop_boilerplate(doc, keep=preferred)
    # <main> marks the page's main region, which holds more than the story: a scope to
    # search, not the answer.
    scope = _largest(doc, "//main | //*[@role='main']")
    densest = [] if scope is None else _densest_blocks(scope)
    if not densest:
        densest = _densest_blocks(doc)
    dense_chars = sum(_paragraph_chars(block) for block in densest)
    # The semantic container wins unless it is a teaser far smaller than the densest text.
    if preferred is not None and _paragraph_chars(preferred) >= dense_chars / 2:
        densest = [preferred]
    if not densest:
        body = doc.find("body")
        if body is None:
            return ""
        if next(body.iter(*_TEXT_BLOCKS), None) is None:
            return _loose_text(body)
        densest = [body]
    return join_paragraphs(text for block in densest for text in _paragraphs(block, title))


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
            or _HIDDEN_STYLE.search(element.get("style") or "") is not None
        )
    ]
    _drop_all(doomed)


def _mark_line_breaks(doc: Any) -> None:
    """Make <br> a break marker: one is a space, two or more end a paragraph."""
    for br in doc.iter("br"):
        br.tail = _BREAK + (br.tail or "")


def _promote_text_divs(doc: Any) -> None:
    """Treat a <div> holding only inline content as a paragraph, as readability does."""
    for div in doc.iter("div"):
        if next(div.iterdescendants(*_BLOCK_TAGS), None) is None:
            div.tag = "p"


def _largest(doc: Any, xpath: str) -> Any | None:
    """Of the elements matching xpath, the one holding the most prose (None if none has any)."""
    sized = [(_paragraph_chars(element), element) for element in doc.xpath(xpath)]
    size, element = max(sized, key=lambda pair: pair[0], default=(0, None))
    return element if size > 0 else None


def _drop_boilerplate(doc: Any, keep: Any | None) -> None:
    """Drop ad/share/related/... blocks by their class and id, sparing the story container."""
    spared = set() if keep is None else {keep, *keep.iterancestors()}
    total_chars = _paragraph_chars(doc)
    doomed = []
    for element in doc.iter():
        if not isinstance(element.tag, str) or element.tag in ("html", "body"):
            continue
        if element in spared:
            continue
        words = _class_words(element)
        if not words:
            continue
        if _has_word(words, _JUNK_WORDS, _JUNK_PREFIXES):
            doomed.append(element)
            continue
        if not _has_word(words, _CHROME_WORDS, _CHROME_PREFIXES):
            continue
        # "article-body has-related" is the story; a link list called "article-related" is not.
        if words & _CONTENT_WORDS and _link_density(element) <= _MAX_LINK_DENSITY:
            continue
        # Chrome is a minority of the page: a wrapper holding most of its text, such as a
        # "layout-with-sidebar" around the story, only describes the layout.
        if _paragraph_chars(element) > total_chars / 2:
            continue
        doomed.append(element)
    _drop_all(doomed)


def _class_words(element: Any) -> set[str]:
    names = f"{element.get('class') or ''} {element.get('id') or ''}"
    return set(_WORD.findall(_CAMEL_HUMP.sub(r"\1 \2", names).lower()))


def _has_word(words: set[str], whole: frozenset[str], prefixes: tuple[str, ...]) -> bool:
    return not words.isdisjoint(whole) or any(word.startswith(prefixes) for word in words)


def _densest_blocks(root: Any) -> list[Any]:
    """The highest-scoring element and those of its siblings that continue the story."""
    scores = _scores(root)
    if not scores:
        return []
    top = _climb(max(scores, key=scores.__getitem__), scores)
    parent = top.getparent()
    if parent is None:
        return [top]
    threshold = max(_MIN_SIBLING_SCORE, scores[top] * 0.2)
    return [
        sibling
        for sibling in parent.iterchildren()
        if sibling is top
        or scores.get(sibling, 0.0) >= threshold
        or (sibling.tag == "p" and _is_prose(sibling))
    ]


def _climb(top: Any, scores: dict[Any, float]) -> Any:
    """Move up to an ancestor scoring higher still: a story split over several sections."""
    last = scores[top]
    threshold = last / 3
    for ancestor in top.iterancestors():
        if ancestor.tag in ("body", "html"):  # the whole page is never "the story"
            break
        score = scores.get(ancestor)
        if score is None:
            continue
        if score < threshold:
            break
        if score > last:
            return ancestor
        last = score
    return top


def _is_prose(paragraph: Any) -> bool:
    """A stray paragraph beside the best block: long with few links, or a linkless sentence."""
    text = normalize_whitespace(paragraph.text_content())
    density = _link_density(paragraph)
    if len(text) > 80:
        return density < 0.25
    return bool(text) and density == 0 and _SENTENCE_END.search(text) is not None


def _scores(root: Any) -> dict[Any, float]:
    """Readability-style scores: each paragraph credits its ancestors (parent fully, then
    less and less) by its length and commas; link-heavy elements are then marked down."""
    scores: dict[Any, float] = {}
    for paragraph in root.iter(*_PROSE_BLOCKS):
        text = normalize_whitespace(paragraph.text_content())
        if len(text) < _MIN_PARAGRAPH_CHARS:
            continue
        commas = text.count(",") + text.count("\uff0c") + text.count("\u3001")  # CJK too
        score = 1 + commas + min(len(text) / 100, 3)
        for level, ancestor in enumerate(paragraph.iterancestors()):
            if level == len(_ANCESTOR_SHARES) or ancestor.tag == "html":
                break
            scores[ancestor] = scores.get(ancestor, 0.0) + score * _ANCESTOR_SHARES[level]
    return {element: score * (1 - _link_density(element)) for element, score in scores.items()}


def _paragraphs(container: Any, title: str) -> Iterator[str]:
    """The innermost text blocks of the container, minus link lists and a repeated title."""
    title_key = title.casefold()
    previous = ""
    for block in container.iter(*_TEXT_BLOCKS):
        if next(block.iterdescendants(*_TEXT_BLOCKS), None) is not None:
            continue  # a list item or quote made of paragraphs: take the paragraphs
        if _link_density(block) > _MAX_LINK_DENSITY:
            continue
        # Preformatted text has real line structure: its blank lines separate paragraphs.
        breaks = _PRE_PARAGRAPH_BREAK if block.tag == "pre" else _PARAGRAPH_BREAK
        for raw in breaks.split(block.text_content()):
            text = normalize_whitespace(raw)
            if not text or text == previous:
                continue
            if block.tag in _HEADINGS and text.casefold() == title_key:
                continue
            previous = text
            yield text


def _loose_text(container: Any) -> str:
    """Text of a container without paragraph markup, split where blocks or <br>s were."""
    for element in container.iter(*_BLOCK_TAGS):
        element.tail = _BREAK * 2 + (element.tail or "")
    return join_paragraphs(_PARAGRAPH_BREAK.split(container.text_content()))


def _paragraph_chars(element: Any) -> int:
    """Characters of prose in the element (innermost blocks only, so none counts twice)."""
    return sum(
        len(normalize_whitespace(block.text_content()))
        for block in element.iter(*_PROSE_BLOCKS)
        if next(block.iterdescendants(*_PROSE_BLOCKS), None) is None
    )


def _link_density(element: Any) -> float:
    total = len(normalize_whitespace(element.text_content()))
    if total == 0:
        return 0.0
    linked = sum(len(normalize_whitespace(a.text_content())) for a in element.iter("a"))
    return min(linked / total, 1.0)


def _drop_all(elements: list[Any]) -> None:
    for element in elements:
        if element.getparent() is not None:  # the root element cannot be dropped
            element.drop_tree()
