"""Lenient publication-date parsing: whatever a source wrote becomes an aware UTC datetime."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Epoch numbers above this are taken as milliseconds: as seconds they would be past year 5000.
_MILLISECONDS_THRESHOLD = 100_000_000_000


def parse_datetime(value: object) -> datetime | None:
    """Parse ISO 8601, RFC 2822 or a unix epoch (seconds or ms) into aware UTC; else None.

    Naive values are taken to be UTC; a bare date means midnight UTC.
    """
    if isinstance(value, bool):  # bool is an int subclass, and never a date
        return None
    if isinstance(value, int | float):
        return _from_epoch(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text.lstrip("-").isdecimal():
        try:
            return _from_epoch(int(text))
        except ValueError:  # "--5", or more digits than int() accepts
            return None
    parsed = _from_iso(text) or _from_rfc2822(text)
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _from_iso(text: str) -> datetime | None:
    try:
        # fromisoformat wants an upper-case "T" and "Z"; "2024-01-05 10:00" is fine as is.
        return datetime.fromisoformat(text.upper())
    except ValueError:
        return None


def _from_rfc2822(text: str) -> datetime | None:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _from_epoch(number: float) -> datetime | None:
    if not math.isfinite(number):
        return None
    if abs(number) >= _MILLISECONDS_THRESHOLD:
        number = number / 1000
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
