"""Articles, their change log, and search sessions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("external_id", sa.String(512), nullable=True, unique=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("canonical_url", sa.String(2048), nullable=True, unique=True),
        sa.Column("source", sa.String(256), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("stored_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("sort_at", UTCDateTime(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_articles_sort_at", "articles", ["sort_at"])
    op.create_table(
        "article_events",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("article_id", BigId, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_article_events_article_id", "article_events", ["article_id"])
    op.create_table(
        "search_sessions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_search_sessions_chat_id", "search_sessions", ["chat_id"])
    op.create_index("ix_search_sessions_created_at", "search_sessions", ["created_at"])


def downgrade() -> None:
    op.drop_table("search_sessions")
    op.drop_table("article_events")
    op.drop_table("articles")
