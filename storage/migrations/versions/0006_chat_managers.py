"""Who manages a chat through the bot (who connected it, every manager); source: filters.

Revision ID: 0006
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("username", sa.String(64), nullable=True))
        batch.add_column(sa.Column("connected_by", sa.BigInteger(), nullable=True))
    op.create_table(
        "chat_managers",
        sa.Column("chat_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_chat_managers_user_id", "chat_managers", ["user_id"])
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("source_terms", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("source_terms")
    op.drop_index("ix_chat_managers_user_id", "chat_managers")
    op.drop_table("chat_managers")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("connected_by")
        batch.drop_column("username")
