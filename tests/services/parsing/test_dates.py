"""parse_datetime: lenient, always aware UTC, None instead of errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.parsing.dates import parse_datetime


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-03-05T10:20:30", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-05 10:20", datetime(2024, 3, 5, 10, 20, tzinfo=UTC)),
        ("2024-03-05t10:20:30z", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("2024-03-05T10:20:30.5-05:00", datetime(2024, 3, 5, 15, 20, 30, 500000, tzinfo=UTC)),
        ("Tue, 05 Mar 2024 10:20:30 GMT", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        ("5 Mar 2024 10:20:30 -0000", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        (1709634030, datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
        (1709634030.25, datetime(2024, 3, 5, 10, 20, 30, 250000, tzinfo=UTC)),
        (1709634030000, datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),  # milliseconds
        (" 1709634030 ", datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)),
    ],
)
def test_parses(value: object, expected: datetime) -> None:
    parsed = parse_datetime(value)
    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "  ",
        "yesterday",
        "2024-13-45",
        "--5",
        "9" * 5000,
        True,
        float("nan"),
        1e300,
        [],
        {},
    ],
)
def test_unparseable_gives_none(value: object) -> None:
    assert parse_datetime(value) is None
