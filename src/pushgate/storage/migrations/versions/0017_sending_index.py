"""a partial index of the notifications still sending, for the oldest-pending gauge of
/metrics (docs/operations.md, "Metrics"; bench/instance_gauges.py)

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_notifications_sending",
        "notifications",
        ["created_at"],
        sqlite_where=sa.text("state = 'sending'"),
        postgresql_where=sa.text("state = 'sending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_sending", table_name="notifications")
