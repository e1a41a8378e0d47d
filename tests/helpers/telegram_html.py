"""Telegram's HTML parse mode, re-implemented after tdlib's parse_html for the fake Bot API."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Tag name -> MessageEntity type; the special cases (a, span, code, pre, ...) are handled below.
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
ALLOWED_TAGS = frozenset({*_SIMPLE_TAGS, "span", "a", "code", "pre", "blockquote", "tg-emoji"})

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(
    r"&(?:#(?P<dec>[0-9]{1,8})|#[xX](?P<hex>[0-9a-fA-F]{1,6})|(?P<name>[a-zA-Z]+));"
)
_MARKUP = re.compile("[&<]")  # where plain text ends


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; str(error) is tdlib's wording."""


@dataclass(frozen=True)
class ParsedText:
    """Plain text after entity parsing plus its MessageEntity dicts (UTF-16 offsets)."""

    text: str
    entities: tuple[dict[str, Any], ...]


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start: int  # UTF-16 offset in the output text
    entity: dict[str, Any] | None = field(default=None)


def utf16_len(text: str) -> int:
    """Length of text in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the HTML entity starting at text[pos] ('&'); None if it is not one Telegram knows."""
    match = _ENTITY_RE.match(text, pos)
    if match is None:
        return None
    if match["name"] is not None:
        char = _NAMED_ENTITIES.get(match["name"])
        return None if char is None else (char, match.end() - pos)
    code = int(match["dec"]) if match["dec"] is not None else int(match["hex"], 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end() - pos


def _unescape_attr(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        decoded = decode_entity(value, i) if value[i] == "&" else None
        if decoded is None:
            out.append(value[i])
            i += 1
        else:
            out.append(decoded[0])
            i += decoded[1]
    return "".join(out)


def _parse_attrs(text: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse attributes from text[i] up to the closing '>'; returns them and the index after it."""
    attrs: dict[str, str] = {}
    n = len(text)
    unclosed = f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i == n:
            raise EntityParseError(unclosed)
        if text[i] == ">":
            return attrs, i + 1
        name_start = i
        while i < n and not text[i].isspace() and text[i] not in "=>":
            i += 1
        name = text[name_start:i].lower()
        if not name:
            at = _byte_offset(text, begin)
            raise EntityParseError(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
        while i < n and text[i].isspace():
            i += 1
        if i == n:
            raise EntityParseError(unclosed)
        if text[i] != "=":
            attrs[name] = ""
            continue
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i == n:
            raise EntityParseError(unclosed)
        if text[i] in "'\"":
            end = text.find(text[i], i + 1)
            if end == -1:
                raise EntityParseError(unclosed)
            attrs[name] = _unescape_attr(text[i + 1 : end])
            i = end + 1
        else:
            value_start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            attrs[name] = _unescape_attr(text[value_start:i])


def _entity_for(tag: _OpenTag, text: str, begin: int) -> dict[str, Any] | None:
    """The entity skeleton for an opening tag (offset/length are filled in on close)."""
    if tag.name in _SIMPLE_TAGS:
        return {"type": _SIMPLE_TAGS[tag.name]}
    if tag.name == "span":
        if tag.attrs.get("class") != "tg-spoiler":
            at = _byte_offset(text, begin)
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        return {"type": "spoiler"}
    if tag.name == "a":
        href = tag.attrs.get("href", "")
        if not href:
            return None
        user = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if user:
            return {"type": "text_mention", "user": {"id": int(user[1])}}
        return {"type": "text_link", "url": href}
    if tag.name == "tg-emoji":
        emoji_id = tag.attrs.get("emoji-id", "")
        if not emoji_id.isdigit():
            raise EntityParseError(
                'Custom emoji entity must contain a valid "emoji-id" at byte offset '
                f"{_byte_offset(text, begin)}"
            )
        return {"type": "custom_emoji", "custom_emoji_id": emoji_id}
    if tag.name == "blockquote":
        return {"type": "expandable_blockquote" if "expandable" in tag.attrs else "blockquote"}
    return {"type": tag.name}  # code, pre


def parse_html(text: str, *, strict_ampersand: bool = True) -> ParsedText:
    """Parse Telegram HTML into plain text and entities, raising EntityParseError like tdlib.

    tdlib keeps a bare '&' that starts no known entity as a literal; strict_ampersand rejects it
    instead, because a handler that forgot html.escape() is the bug these tests want to catch.
    """
    out: list[str] = []
    pos16 = 0  # UTF-16 length of "".join(out)
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "&":
            decoded = decode_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                pos16 += utf16_len(decoded[0])
                i += decoded[1]
                continue
            if strict_ampersand:
                raise EntityParseError(
                    f'Character "&" must be escaped as "&amp;" at byte offset '
                    f"{_byte_offset(text, i)}"
                )
        if char != "<":  # plain text up to the next tag or entity, taken in one piece
            found = _MARKUP.search(text, i + 1)
            stop = n if found is None else found.start()
            out.append(text[i:stop])
            pos16 += utf16_len(text[i:stop])
            i = stop
            continue
        begin = i
        i += 1
        if i == n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] != "/":
            name_start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            if i == n:
                raise EntityParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            name = text[name_start:i].lower()
            if name not in ALLOWED_TAGS:
                raise EntityParseError(
                    f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, begin)}'
                )
            attrs, i = _parse_attrs(text, i, name, begin)
            tag = _OpenTag(name, attrs, pos16)
            tag.entity = _entity_for(tag, text, begin)
            stack.append(tag)
            continue
        end = text.find(">", i)
        if end == -1:
            raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
        name = text[i + 1 : end].strip().lower()
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
        tag = stack.pop()
        if name != tag.name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                f'expected "</{tag.name}>", found "</{name}>"'
            )
        i = end + 1
        _close(tag, stack, pos16, entities)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), tuple(entities))


def _close(
    tag: _OpenTag, stack: list[_OpenTag], pos16: int, entities: list[dict[str, Any]]
) -> None:
    if tag.entity is None or pos16 == tag.start:
        return
    # <pre><code class="language-x"> is a single pre entity carrying the language.
    if tag.name == "code" and stack and stack[-1].name == "pre" and stack[-1].entity is not None:
        language = tag.attrs.get("class", "")
        if language.startswith("language-") and len(language) > len("language-"):
            stack[-1].entity["language"] = language.removeprefix("language-")
        return
    entities.append({**tag.entity, "offset": tag.start, "length": pos16 - tag.start})
