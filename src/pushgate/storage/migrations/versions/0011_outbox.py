"""the outbox: jobs stored with the write that made them, for a relay to move to Redis

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("available_at", sa.BigInteger(), nullable=True),
        sa.Column("owner_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("relayed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_relayed_at_created_at"), "outbox", ["relayed_at", "created_at"])
    op.create_index(op.f("ix_outbox_owner_id"), "outbox", ["owner_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_owner_id"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_relayed_at_created_at"), table_name="outbox")
    op.drop_table("outbox")
