"""Plain text: first non-empty line is the title, each later line a paragraph."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from services.parsing import RawArticle, Rejected, parse_file

# ../shared/seeds relative to the repository root, as the shared workspace lays it out.
SEED = Path(__file__).resolve().parents[4] / "shared" / "seeds" / "000_c74e056f559fd1b5.txt"


def _parse(path: Path, data: bytes) -> RawArticle | Rejected:
    path.write_bytes(data)
    [item] = parse_file(path)
    return item


def test_title_and_paragraphs(tmp_path: Path) -> None:
    text = (
        "\n\n  The  ferry\tis back  \nIt sailed at dawn.\n\n\n  Crowds   cheered.  \n\nThe end.\n"
    )

    article = _parse(tmp_path / "story.txt", text.encode())

    assert article == RawArticle(
        title="The ferry is back",
        body="It sailed at dawn.\n\nCrowds cheered.\n\nThe end.",
    )


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + "Caf\u00e9 opens\r\nIt serves tea.\r\n".encode()

    article = _parse(tmp_path / "bom.txt", data)

    assert article == RawArticle(title="Caf\u00e9 opens", body="It serves tea.")


def test_windows_1252_fallback(tmp_path: Path) -> None:
    data = "\u201cCaf\u00e9\u201d opens\nPrices from \u20ac2 \u2013 cheap.\n".encode("cp1252")

    article = _parse(tmp_path / "legacy.txt", data)

    assert article == RawArticle(
        title="\u201cCaf\u00e9\u201d opens", body="Prices from \u20ac2 \u2013 cheap."
    )


def test_latin1_fallback_when_cp1252_cannot_decode(tmp_path: Path) -> None:
    data = b"Caf\xe9 \x81opens\nIt serves tea.\n"  # 0x81 is undefined in Windows-1252

    article = _parse(tmp_path / "latin.txt", data)

    assert isinstance(article, RawArticle)
    assert article.title == "Caf\u00e9 opens"  # the stray C1 control is dropped


def test_utf16_with_bom(tmp_path: Path) -> None:
    article = _parse(tmp_path / "wide.txt", "T\u00eftle\nB\u00f6dy\n".encode("utf-16"))

    assert article == RawArticle(title="T\u00eftle", body="B\u00f6dy")


def test_markdown_heading_marks_are_dropped(tmp_path: Path) -> None:
    article = _parse(tmp_path / "note.md", b"# Big news\n\n## Details\nIt happened.\n")

    assert article == RawArticle(title="Big news", body="Details\n\nIt happened.")


def test_hash_in_plain_text_title_is_kept(tmp_path: Path) -> None:
    article = _parse(tmp_path / "tag.txt", b"# not markdown here\n#MeToo grows\n")

    assert isinstance(article, RawArticle)
    assert article.title == "# not markdown here"


def test_unknown_extension_is_plain_text(tmp_path: Path) -> None:
    article = _parse(tmp_path / "story.news", b"Title\nBody line.\n")

    assert article == RawArticle(title="Title", body="Body line.")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\t\n\xef\xbb\xbf\n", "empty file"),
        (b"Only a title\n\n  \n", "only a title, no story"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file, not text"),
        (bytes(range(1, 32)) * 20, "binary file, not text"),
    ],
)
def test_rejections(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "bad.txt"

    assert _parse(path, data) == Rejected(str(path), reason)


def test_directory_is_rejected_not_raised(tmp_path: Path) -> None:
    [result] = parse_file(tmp_path)

    assert isinstance(result, Rejected)
    assert result.reason.startswith("cannot read file")


@pytest.mark.skipif(not SEED.exists(), reason="the shared seed article is not present")
def test_seed_article() -> None:
    [article] = parse_file(SEED)

    assert isinstance(article, RawArticle)
    assert article.title == "Barack Obama\u2019s Secret Letter to Iran Leader"
    paragraphs = article.body.split("\n\n")
    assert len(paragraphs) == 11  # one per non-empty line after the title
    assert all(p and p == p.strip() and "\n" not in p for p in paragraphs)
