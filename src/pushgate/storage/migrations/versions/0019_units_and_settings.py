"""units, settings by scope, a user's unit, suppressed deliveries counted by reason

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("parent", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_units_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_units_tenant_id_key")),
    )
    op.create_table(
        "scoped_settings",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("scope", sa.String(80), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("value", JSON, nullable=True),
        sa.Column("sealed", sa.LargeBinary, nullable=True),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_scoped_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "scope", "name", name=op.f("pk_scoped_settings")),
    )
    op.add_column("users", sa.Column("unit", sa.String(64), nullable=True))
    op.create_index("ix_users_tenant_id_unit", "users", ["tenant_id", "unit"])
    if op.get_bind().dialect.name == "postgresql":
        # Suppressed deliveries are counted as ``suppressed:<reason>``.
        op.alter_column("delivery_counts", "state", type_=sa.String(48))
        # ``GET /v1/users?attribute.k=v`` asks with JSONB containment, which this serves.
        op.execute(
            "CREATE INDEX ix_users_attributes ON users USING gin (attributes jsonb_path_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_users_attributes")
    op.drop_index("ix_users_tenant_id_unit", "users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("unit")
    op.drop_table("scoped_settings")
    op.drop_table("units")
