"""the audit log: who did what to which object, when and from where

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=True),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("key_name", sa.String(128), nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("object_type", sa.String(16), nullable=False),
        sa.Column("object_id", sa.String(256), nullable=False),
        sa.Column("details", JSON, nullable=False),
    )
    op.create_index("ix_audit_events_tenant", "audit_events", ["tenant_id", "id"])
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


def downgrade() -> None:
    op.drop_table("audit_events")
