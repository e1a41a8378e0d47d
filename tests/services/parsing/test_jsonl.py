"""JSON Lines: good lines load, bad lines are reported by number, the rest carries on."""

from __future__ import annotations

import codecs
import json
import types
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.parsing import RawArticle, Rejected, parse_file


def _line(**fields: Any) -> str:
    record = {"title": "A title", "body": "A body."} | fields
    return json.dumps(record, ensure_ascii=False)


def _write(tmp_path: Path, lines: list[str], name: str = "feed.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _only(tmp_path: Path, line: str) -> RawArticle | Rejected:
    [item] = parse_file(_write(tmp_path, [line]))
    return item


def test_good_and_bad_lines_mixed(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            _line(title="First", id=1),
            '{"title": "Broken", "body": "x"',  # 2: truncated
            "",  # 3: blank lines are skipped silently
            "   ",
            '["not", "an", "object"]',  # 5
            _line(title="Second", id="b"),
            _line(title="   "),  # 7: empty title
            json.dumps({"body": "no title here"}),  # 8
            _line(body=42),  # 9
            _line(title="Third", id=3),
        ],
    )

    items = list(parse_file(path))

    assert [a.title for a in items if isinstance(a, RawArticle)] == ["First", "Second", "Third"]
    rejected = [r for r in items if isinstance(r, Rejected)]
    assert [r.location for r in rejected] == [f"{path}:{n}" for n in (2, 5, 7, 8, 9)]
    assert rejected[0].reason.startswith("line 2: not valid JSON (Expecting ',' delimiter")
    assert rejected[1].reason == "line 5: not a JSON object (got array)"
    assert rejected[2].reason == "line 7: empty title"
    assert rejected[3].reason == "line 8: missing title"
    assert rejected[4].reason == "line 9: body must be a string (got number)"


def test_all_fields(tmp_path: Path) -> None:
    line = _line(
        title="  Storm\tcloses \n the  bridge ",
        body="  First paragraph.\r\n\r\nSecond paragraph.  ",
        url=" https://news.example/storm?utm_source=x ",
        published="2024-03-05T10:00:00+01:00",
        source="  Example  News ",
        summary="  Short. ",
        id=12345,
        category="ignored",
    )

    article = _only(tmp_path, line)

    assert article == RawArticle(
        title="Storm closes the bridge",
        body="First paragraph.\n\nSecond paragraph.",
        url="https://news.example/storm?utm_source=x",  # kept as given; canonicalised at ingest
        source="Example News",
        published_at=datetime(2024, 3, 5, 9, 0, tzinfo=UTC),
        summary="Short.",
        external_id="12345",
    )


def test_nulls_and_empty_optional_fields(tmp_path: Path) -> None:
    line = _line(url=None, published=None, source="", summary="  ", id=None)

    article = _only(tmp_path, line)

    assert article == RawArticle(title="A title", body="A body.")


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-03-05T10:00:00", datetime(2024, 3, 5, 10, tzinfo=UTC)),  # naive means UTC
        ("2024-03-05T10:00:00Z", datetime(2024, 3, 5, 10, tzinfo=UTC)),
        ("Tue, 05 Mar 2024 10:00:00 +0200", datetime(2024, 3, 5, 8, tzinfo=UTC)),
        (1709632800, datetime(2024, 3, 5, 10, tzinfo=UTC)),
        ("next tuesday", None),  # unparseable: the article is kept without a date
    ],
)
def test_published_formats(tmp_path: Path, published: object, expected: datetime | None) -> None:
    article = _only(tmp_path, _line(published=published))

    assert isinstance(article, RawArticle)
    assert article.published_at == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://news.example/a", "http://news.example/a"),
        ("HTTPS://News.Example/B", "HTTPS://News.Example/B"),
        ("ftp://news.example/a", None),
        ("javascript:alert(1)", None),
        ("/relative/path", None),
        ("https://", None),
    ],
)
def test_only_http_urls_are_kept(tmp_path: Path, url: str, expected: str | None) -> None:
    article = _only(tmp_path, _line(url=url))

    assert isinstance(article, RawArticle)
    assert article.url == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("abc-1", "abc-1"), (7, "7"), (7.0, "7"), (7.5, "7.5"), ("  ", None)],
)
def test_external_id(tmp_path: Path, value: object, expected: str | None) -> None:
    article = _only(tmp_path, _line(id=value))

    assert isinstance(article, RawArticle)
    assert article.external_id == expected


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": ["a"]}, "title must be a string (got array)"),
        ({"body": None}, "missing body"),
        ({"body": " \n "}, "empty body"),
        ({"url": 5}, "url must be a string (got number)"),
        ({"source": {"name": "x"}}, "source must be a string (got object)"),
        ({"summary": False}, "summary must be a string (got boolean)"),
        ({"published": [2024]}, "published must be a string or number (got array)"),
        ({"published": True}, "published must be a string or number (got boolean)"),
        ({"id": True}, "id must be a string or number (got boolean)"),
    ],
)
def test_wrong_types_are_rejected(tmp_path: Path, fields: dict[str, Any], reason: str) -> None:
    result = _only(tmp_path, _line(**fields))

    assert result == Rejected(f"{tmp_path / 'feed.jsonl'}:1", f"line 1: {reason}")


def test_markup_in_titles_stays_literal_text(tmp_path: Path) -> None:
    # Escaping is the renderer's job; the parser neither strips nor interprets tags.
    article = _only(tmp_path, _line(title="<b>Hi</b> &amp; <script>x</script>"))

    assert isinstance(article, RawArticle)
    assert article.title == "<b>Hi</b> &amp; <script>x</script>"


def test_odd_unicode(tmp_path: Path) -> None:
    title = (
        "\u200bBreaking:\u00a0\u05e9\u05dc\u05d5\u05dd \u200f\u05e2\u05d5\u05dc\u05dd\u200f "
        "\U0001f468\u200d\U0001f469\u200d\U0001f467\u2060 caf\u00e9\u00ad"
    )
    body = "Zero\u200bwidth and\x07bell.\n\n\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \U0001f30d"

    article = _only(tmp_path, _line(title=title, body=body))

    assert isinstance(article, RawArticle)
    # Zero-width space, word joiner, soft hyphen and BEL go; RLM marks and the ZWJ of the
    # family emoji stay; the no-break space is whitespace.
    assert article.title == (
        "Breaking: \u05e9\u05dc\u05d5\u05dd \u200f\u05e2\u05d5\u05dc\u05dd\u200f "
        "\U0001f468\u200d\U0001f469\u200d\U0001f467 caf\u00e9"
    )
    assert (
        article.body
        == "Zerowidth andbell.\n\n\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \U0001f30d"
    )


def test_escaped_non_ascii_is_decoded(tmp_path: Path) -> None:
    line = json.dumps({"title": "Caf\u00e9 \u2603", "body": "\u00fcber\u200b"}, ensure_ascii=True)

    article = _only(tmp_path, line)

    assert article == RawArticle(title="Caf\u00e9 \u2603", body="\u00fcber")


def test_long_titles_are_capped(tmp_path: Path) -> None:
    article = _only(tmp_path, _line(title="word " * 200))

    assert isinstance(article, RawArticle)
    assert len(article.title) <= 300
    assert article.title.endswith("word\u2026")


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "bom.ndjson"
    path.write_bytes(codecs.BOM_UTF8 + (_line(title="One") + "\r\n" + _line(title="Two")).encode())

    titles = [a.title for a in parse_file(path) if isinstance(a, RawArticle)]

    assert titles == ["One", "Two"]


def test_utf16_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "wide.jsonl"
    path.write_text(
        _line(title="\u00c9t\u00e9") + "\n" + _line(title="Two") + "\n", encoding="utf-16"
    )

    titles = [a.title for a in parse_file(path) if isinstance(a, RawArticle)]

    assert titles == ["\u00c9t\u00e9", "Two"]


def test_windows_1252_line_is_read_not_rejected(tmp_path: Path) -> None:
    path = tmp_path / "legacy.jsonl"
    path.write_bytes(
        _line(title="Caf\u00e9 \u201cnews\u201d").encode("cp1252") + b"\n" + _line().encode()
    )

    items = list(parse_file(path))

    assert [a.title for a in items if isinstance(a, RawArticle)] == [
        "Caf\u00e9 \u201cnews\u201d",
        "A title",
    ]


def test_binary_file_is_one_rejection(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_bytes(bytes(range(256)) * 100)

    assert list(parse_file(path)) == [Rejected(str(path), "binary file, not JSON Lines")]


def test_missing_file_is_one_rejection(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.jsonl"

    [result] = parse_file(path)

    assert isinstance(result, Rejected)
    assert result.location == str(path)
    assert result.reason.startswith("cannot read file")


def test_deeply_nested_line_is_rejected(tmp_path: Path) -> None:
    result = _only(tmp_path, "[" * 100_000)

    assert isinstance(result, Rejected)
    assert "not valid JSON" in result.reason


def test_parse_file_streams_lazily(tmp_path: Path) -> None:
    path = _write(tmp_path, [_line()])

    items = parse_file(path)

    assert isinstance(items, types.GeneratorType)
