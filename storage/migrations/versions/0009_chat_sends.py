"""Messages sent to each chat lately, from every process: the per-chat limits' shared record.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_sends",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_chat_sends_chat_sent", "chat_sends", ["chat_id", "sent_at"])
    op.create_index("ix_chat_sends_sent", "chat_sends", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_chat_sends_sent", "chat_sends")
    op.drop_index("ix_chat_sends_chat_sent", "chat_sends")
    op.drop_table("chat_sends")
