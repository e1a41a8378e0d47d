from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.alerts.keywords import parse_keywords, stem
from services.alerts.schedule import DeliveryPrefs, due_time, parse_quiet, parse_timezone


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("elections", "election"),
        ("election", "election"),
        ("voting", "vot"),
        ("voted", "vot"),
        ("vote", "vot"),
        ("news", "news"),
        ("iran", "iran"),
        ("stories", "story"),
        ("obama", "obama"),
    ],
)
def test_stem_meets_inflections_without_eating_short_words(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_parse_keywords_folds_and_splits_exclusions() -> None:
    query = parse_keywords("Obama IRAN -Sport -sport  obama Zoë")
    assert query.include == ("obama", "iran", "zoe")
    assert query.exclude == ("sport",)
    assert parse_keywords("").include == ()
    assert parse_keywords("- -- !!").include == ()


def test_parse_quiet_and_timezone() -> None:
    assert parse_quiet("22:00-07:00") == (1320, 420)
    assert parse_quiet("9.30 – 12h15") == (570, 735)
    for bad in ["", "22-07", "25:00-07:00", "10:00-10:00", "a-b", "10:00-11:00-12:00"]:
        assert parse_quiet(bad) is None, bad
    assert parse_timezone("Europe/Berlin") == "Europe/Berlin"
    for bad in ["", "Mars/Olympus", "../../etc/passwd", "/etc/localtime", "x" * 100]:
        assert parse_timezone(bad) is None, bad


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_due_now_without_preferences() -> None:
    assert due_time(DeliveryPrefs(), at(10, 17)) == at(10, 17)


def test_hourly_and_daily_digests_wait_for_their_moment() -> None:
    assert due_time(DeliveryPrefs(digest="hourly"), at(10, 17)) == at(11)
    assert due_time(DeliveryPrefs(digest="daily"), at(7, 59)) == at(8)
    assert due_time(DeliveryPrefs(digest="daily"), at(10, 17)) == at(8, day=3)


def test_quiet_hours_across_midnight_in_the_chats_zone() -> None:
    berlin = DeliveryPrefs(quiet_start=22 * 60, quiet_end=7 * 60, timezone="Europe/Berlin")
    # 22:30 UTC is 23:30 in Berlin (CET, November): held until 07:00 Berlin = 06:00 UTC.
    assert due_time(berlin, at(22, 30)) == at(6, day=3)
    # 05:00 UTC is 06:00 in Berlin: still quiet, until 06:00 UTC.
    assert due_time(berlin, at(5)) == at(6)
    # 12:00 UTC: not quiet.
    assert due_time(berlin, at(12)) == at(12)


def test_digest_that_falls_in_quiet_hours_waits_for_the_end() -> None:
    prefs = DeliveryPrefs(digest="hourly", quiet_start=0, quiet_end=6 * 60)
    assert due_time(prefs, at(1, 5)) == at(6)
