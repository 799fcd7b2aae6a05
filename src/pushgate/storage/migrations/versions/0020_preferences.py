"""user and device preferences

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "user_preferences",
        sa.Column("user_id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("quiet_hours", JSON, nullable=True),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_user_preferences_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_preferences")),
    )
    op.create_index("ix_user_preferences_tenant_id", "user_preferences", ["tenant_id"])
    op.create_table(
        "device_preferences",
        sa.Column("device_id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("muted_types", JSON, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_device_preferences_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_device_preferences_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_preferences")),
    )
    op.create_index("ix_device_preferences_tenant_id", "device_preferences", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_device_preferences_tenant_id", "device_preferences")
    op.drop_table("device_preferences")
    op.drop_index("ix_user_preferences_tenant_id", "user_preferences")
    op.drop_table("user_preferences")
