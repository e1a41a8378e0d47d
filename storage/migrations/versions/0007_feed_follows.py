"""A chat's own feeds: public feeds, follows, the feed item log, pending feed choices.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        # Every feed so far was added by a bot administrator.
        batch.add_column(
            sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "feed_follows",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("feed_id", BigId, nullable=False),
        sa.Column("query", sa.Text(), nullable=False, server_default=""),
        sa.Column("include_terms", sa.Text(), nullable=False, server_default=""),
        sa.Column("exclude_terms", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("chat_id", "topic", "feed_id", name="uq_feed_follows_chat_topic_feed"),
    )
    op.create_index("ix_feed_follows_feed_id", "feed_follows", ["feed_id"])
    op.create_table(
        "feed_items",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("feed_id", BigId, nullable=False),
        sa.Column("article_id", BigId, nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("feed_id", "article_id", name="uq_feed_items_feed_article"),
    )
    op.create_table(
        "follow_choices",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("terms", sa.Text(), nullable=False, server_default=""),
        sa.Column("urls", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_follow_choices_created_at", "follow_choices", ["created_at"])
    # The entries feeds already brought (their external id is "feed<id>:<guid>"), logged
    # silently: their next poll must not announce them again as new to the feed.
    if op.get_bind().dialect.name == "postgresql":
        feed_id = "CAST(substring(external_id FROM '^feed([0-9]{1,18}):') AS BIGINT)"
        entries = "external_id ~ '^feed[0-9]{1,18}:'"
    else:
        feed_id = "CAST(substr(external_id, 5, instr(external_id, ':') - 5) AS INTEGER)"
        entries = "external_id GLOB 'feed[0-9]*:*'"
    op.execute(
        "INSERT INTO feed_items (feed_id, article_id, notify, created_at) "
        f"SELECT feed_id, id, false, stored_at FROM (SELECT {feed_id} AS feed_id, id, stored_at "
        f"FROM articles WHERE {entries}) AS entries "
        "WHERE feed_id IN (SELECT id FROM feeds) ORDER BY id"
    )


def downgrade() -> None:
    op.drop_index("ix_follow_choices_created_at", "follow_choices")
    op.drop_table("follow_choices")
    op.drop_table("feed_items")
    op.drop_index("ix_feed_follows_feed_id", "feed_follows")
    op.drop_table("feed_follows")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("public")
