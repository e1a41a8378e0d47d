"""Builders of article rows for storage tests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

WHEN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def article_row(title: str, body: str = "", **overrides: Any) -> dict[str, Any]:
    body = body or f"{title}. A story about {title.lower()}."
    row: dict[str, Any] = {
        "external_id": None,
        "title": title,
        "body": body,
        "summary": body[:100],
        "url": None,
        "canonical_url": None,
        "source": None,
        "published_at": None,
        "stored_at": WHEN,
        "updated_at": WHEN,
        "sort_at": WHEN,
        "fingerprint": hashlib.sha256((title + body).encode()).hexdigest(),
    }
    row.update(overrides)
    return row
