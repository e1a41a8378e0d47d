"""Reading whole documents (plain text, HTML) as text, whatever their encoding."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

# An article is a few kilobytes; anything this big is not one and would only waste memory.
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

_BOMS = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# <meta charset="x"> and <meta http-equiv="Content-Type" content="text/html; charset=x">
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_CHARSET_SNIFF_BYTES = 4096
# Control characters that never occur in real text (whitespace controls excluded).
_BINARY_CHARS = re.compile("[\x00-\x08\x0e-\x1b\x7f]")


class DocumentError(Exception):
    """The file cannot be read as text; the message is a short reason for the user."""


def read_document(path: Path, *, html: bool = False) -> str:
    """Read a whole file as text, raising DocumentError with a reason when it cannot be.

    With ``html`` a ``<meta charset>`` near the top of the page is honoured.
    """
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise DocumentError(
                f"file too large ({size:,} bytes; the limit is {MAX_DOCUMENT_BYTES:,})"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read file ({exc.strerror or exc})") from exc
    return decode_bytes(data, _html_charset(data) if html else None)


def decode_bytes(data: bytes, declared_encoding: str | None = None) -> str:
    """Decode by BOM, else as UTF-8, else the declared encoding, else Windows-1252/Latin-1.

    UTF-8 goes before the declaration because non-ASCII text that happens to be valid UTF-8
    practically always is, while pages mislabelled "iso-8859-1" are common.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _check_text(data.decode(encoding))
            except UnicodeDecodeError as exc:
                raise DocumentError(f"not valid {encoding.upper()} despite its BOM") from exc
    if b"\x00" in data:
        raise DocumentError("binary file, not text")
    for candidate in ("utf-8", _known_encoding(declared_encoding), "cp1252"):
        if candidate is None:
            continue
        try:
            return _check_text(data.decode(candidate))
        except UnicodeDecodeError:
            continue
    # Latin-1 decodes any byte string; the bytes cp1252 leaves undefined become C1 controls.
    return _check_text(data.decode("latin-1"))


def _html_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data, 0, _CHARSET_SNIFF_BYTES)
    return match.group(1).decode("ascii") if match else None


def _known_encoding(name: str | None) -> str | None:
    if not name:
        return None
    try:
        encoding = codecs.lookup(name).name
    except LookupError:
        return None
    # As browsers do (WHATWG): pages labelled Latin-1 or ASCII are really Windows-1252, and
    # a UTF-16/32 label without a BOM (which was checked first) is a lie.
    if encoding.startswith(("utf-16", "utf-32")):
        return None
    return "cp1252" if encoding in ("latin-1", "iso8859-1", "ascii") else encoding


def _check_text(text: str) -> str:
    # A stray control character is tolerated; more than 1% of them means binary junk.
    if len(_BINARY_CHARS.findall(text)) > 2 + len(text) // 100:
        raise DocumentError("binary file, not text")
    return text
