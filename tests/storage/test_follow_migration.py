"""Migration 0007 on a database that already has feeds and their entries (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import MIGRATIONS_DIR

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _alembic(connection: Connection, direction: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    getattr(command, direction)(config, revision)


async def test_existing_feeds_become_public_and_their_entries_are_logged_silently(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_alembic, "downgrade", "0006")
        await connection.execute(
            text(
                "INSERT INTO feeds (id, url, interval_seconds, active, consecutive_errors, "
                "added_at, next_poll_at) VALUES (7, 'https://a.example/rss', 600, true, 0, "
                ":at, :at)"
            ),
            {"at": AT},
        )
        for number, external in enumerate(
            ["feed7:one", "feed7:two", "feed99:gone-feed", "feedback:not-a-feed", None], start=1
        ):
            await connection.execute(
                text(
                    "INSERT INTO articles (id, external_id, title, body, summary, stored_at, "
                    "updated_at, sort_at, fingerprint) VALUES (:id, :external, 't', 'b', 's', "
                    ":at, :at, :at, :fp)"
                ),
                {"id": number, "external": external, "at": AT, "fp": f"fp{number}"},
            )
        await connection.run_sync(_alembic, "upgrade", "0007")
        public = (await connection.execute(text("SELECT public FROM feeds"))).scalars().all()
        items = await connection.execute(
            text("SELECT feed_id, article_id, notify FROM feed_items ORDER BY seq")
        )
        assert list(public) == [True]
        assert [tuple(row) for row in items.all()] == [(7, 1, False), (7, 2, False)]
