"""notifications that keep rows only for failed deliveries, and the steps settled once

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "notifications",
        sa.Column("records", sa.String(16), nullable=False, server_default="all"),
    )
    op.create_table(
        "settled_batches",
        sa.Column("notification_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("kept", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_settled_batches_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notification_id", "key", name=op.f("pk_settled_batches")),
    )


def downgrade() -> None:
    op.drop_table("settled_batches")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("records")
