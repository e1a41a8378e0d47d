"""JSON Lines: one article object per line, streamed so files of any length fit in memory.

Each line holds an object with ``title`` and ``body`` (required, non-empty strings) and
optionally ``url``, ``published``, ``source``, ``summary`` and ``id``; other keys are ignored.
A bad line becomes a Rejected naming its line number and the rest of the file still loads.
Titles are plain text: ``"<b>Hi</b>"`` stays literally that and is escaped at render time.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from services.parsing.dates import parse_datetime
from services.parsing.results import RawArticle, Rejected
from services.text import clean_title, normalize_whitespace, strip_junk_chars
from services.urls import is_http_url

_SNIFF_BYTES = 8192
_UNICODE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


class _BadRecord(Exception):
    """A line that cannot become an article; the message is the reason."""


def parse_jsonl(path: Path) -> Iterator[RawArticle | Rejected]:
    """Stream the articles of a JSON Lines file, one Rejected per bad line."""
    location = str(path)
    try:
        with path.open("rb") as raw:
            head = raw.read(_SNIFF_BYTES)
            raw.seek(0)
            encoding = next((enc for bom, enc in _UNICODE_BOMS if head.startswith(bom)), None)
            if encoding is None and b"\x00" in head:
                yield Rejected(location, "binary file, not JSON Lines")
                return
            lines: Iterable[bytes | str] = (
                raw if encoding is None else io.TextIOWrapper(raw, encoding=encoding)
            )
            yield from _parse_lines(lines, location)
    except OSError as exc:
        yield Rejected(location, f"cannot read file ({exc.strerror or exc})")
    except UnicodeDecodeError:  # only from a UTF-16/32 file that breaks its own BOM's promise
        yield Rejected(location, f"not valid {encoding} despite its byte-order mark")


def _parse_lines(lines: Iterable[bytes | str], location: str) -> Iterator[RawArticle | Rejected]:
    for number, line in enumerate(lines, 1):
        if line.isspace() or not line:
            continue
        try:
            yield _parse_record(line)
        except _BadRecord as exc:
            yield Rejected(f"{location}:{number}", f"line {number}: {exc}")


def _parse_record(line: bytes | str) -> RawArticle:
    """Turn one JSON Lines line into an article, raising _BadRecord with the reason."""
    record = _load(line)
    if type(record) is not dict:
        raise _BadRecord(f"not a JSON object (got {_json_type(record)})")
    title = clean_title(_required_str(record, "title"))
    if not title:
        raise _BadRecord("empty title")
    body = _clean_body(_required_str(record, "body"))
    if not body:
        raise _BadRecord("empty body")
    url = _optional_str(record, "url")
    source = _optional_str(record, "source")
    summary = _optional_str(record, "summary")
    return RawArticle(
        title=title,
        body=body,
        url=url if url and is_http_url(url) else None,
        source=(normalize_whitespace(source) or None) if source else None,
        published_at=_published(record.get("published")),
        summary=(_clean_body(summary) or None) if summary else None,
        external_id=_external_id(record.get("id")),
    )


def _load(line: bytes | str) -> Any:
    try:
        return json.loads(line)
    except UnicodeDecodeError:
        pass  # not UTF-8: retried below as the legacy Windows encoding
    except json.JSONDecodeError as exc:
        raise _BadRecord(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python accepts
        raise _BadRecord(f"not valid JSON ({exc})") from None
    except RecursionError:
        raise _BadRecord("not valid JSON (nested too deeply)") from None
    assert isinstance(line, bytes)  # str lines come from a decoder and cannot fail to decode
    try:
        text = line.decode("cp1252")
    except UnicodeDecodeError:
        text = line.decode("latin-1")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise _BadRecord("not valid JSON (and not UTF-8)") from None


def _required_str(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if value is None:
        raise _BadRecord(f"missing {key}")
    if not isinstance(value, str):
        raise _BadRecord(f"{key} must be a string (got {_json_type(value)})")
    return value


def _optional_str(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return (value.strip() or None) if value else None
    raise _BadRecord(f"{key} must be a string (got {_json_type(value)})")


def _clean_body(text: str) -> str:
    text = strip_junk_chars(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def _published(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return parse_datetime(value)  # unparseable: keep the article, just without a date
    raise _BadRecord(f"published must be a string or number (got {_json_type(value)})")


def _external_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    raise _BadRecord(f"id must be a string or number (got {_json_type(value)})")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
