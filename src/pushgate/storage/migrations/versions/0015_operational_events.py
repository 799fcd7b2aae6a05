"""operational events: what pushgate itself did that an operator must know, and each
tenant's operational webhook (docs/operations.md, "Operational events")

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "operational_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", ID, nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("app_id", ID, nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operational_events")),
    )
    op.create_index("ix_operational_events_tenant", "operational_events", ["tenant_id", "id"])
    op.create_index("ix_operational_events_at", "operational_events", ["at"])
    op.add_column("tenants", sa.Column("ops_webhook_url", sa.String(2048), nullable=True))
    op.add_column("tenants", sa.Column("ops_webhook_secret", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as table:
        table.drop_column("ops_webhook_secret")
        table.drop_column("ops_webhook_url")
    op.drop_table("operational_events")
