"""When an alert may go out: digests collect matches per period, quiet hours hold them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DIGEST_MODES = ("off", "hourly", "daily")
DAILY_DIGEST_AT = time(8, 0)  # local time of the daily digest
_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class DeliveryPrefs:
    digest: str = "off"
    quiet_start: int | None = None  # minutes after local midnight
    quiet_end: int | None = None
    timezone: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def parse_timezone(name: str) -> str | None:
    """A valid IANA zone name (case-insensitive match), or None."""
    candidate = name.strip()
    if not candidate or len(candidate) > 64 or ".." in candidate or candidate.startswith("/"):
        return None
    try:
        ZoneInfo(candidate)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe" is a directory
        pass
    else:
        return candidate
    folded = candidate.lower()
    return next((zone for zone in available_timezones() if zone.lower() == folded), None)


def parse_quiet(text: str) -> tuple[int, int] | None:
    """``22:00-07:00`` -> (1320, 420); None when it does not parse or is empty."""
    parts = text.replace("–", "-").replace(" ", "").split("-")
    if len(parts) != 2:
        return None
    bounds = []
    for part in parts:
        match = _CLOCK.match(part)
        if match is None:
            return None
        bounds.append(int(match.group(1)) * 60 + int(match.group(2)))
    start, end = bounds
    return None if start == end else (start, end)


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def due_time(prefs: DeliveryPrefs, queued_at: datetime) -> datetime:
    """The earliest moment an alert queued at ``queued_at`` may be sent under these prefs."""
    zone = prefs.zone
    local = queued_at.astimezone(zone)
    if prefs.digest == "hourly":
        local = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    elif prefs.digest == "daily":
        at = datetime.combine(local.date(), DAILY_DIGEST_AT, tzinfo=zone)
        local = (
            at
            if at > local
            else datetime.combine(local.date() + timedelta(days=1), DAILY_DIGEST_AT, tzinfo=zone)
        )
    return _after_quiet_hours(prefs, local).astimezone(queued_at.tzinfo)


def _after_quiet_hours(prefs: DeliveryPrefs, local: datetime) -> datetime:
    start, end = prefs.quiet_start, prefs.quiet_end
    if start is None or end is None:
        return local
    minute = local.hour * 60 + local.minute
    quiet = start <= minute < end if start < end else minute >= start or minute < end
    if not quiet:
        return local
    end_today = datetime.combine(local.date(), time(end // 60, end % 60), tzinfo=local.tzinfo)
    return end_today if end_today > local else end_today + timedelta(days=1)
