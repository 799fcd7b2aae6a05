"""relay: apps that relay for other instances, their origins, origin keys, accepted
message ids and counts per origin and day

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.String(36)


def upgrade() -> None:
    # ADD COLUMN, not a batch copy: SQLite would drop the old apps table, and its
    # cascades would empty every table below it.
    op.add_column("apps", sa.Column("relay", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "relay_origins",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("instance_id", sa.String(64), nullable=False),
        sa.Column("instance_name", sa.String(256), nullable=False),
        sa.Column("apps", JSON, nullable=False),
        sa.Column("per_second", sa.Float, nullable=True),
        sa.Column("burst", sa.Integer, nullable=True),
        sa.Column("per_day", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_relay_origins_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_origins")),
        sa.UniqueConstraint(
            "tenant_id", "instance_id", name=op.f("uq_relay_origins_tenant_id_instance_id")
        ),
    )
    op.create_table(
        "relay_origin_keys",
        sa.Column("key_id", ID, nullable=False),
        sa.Column("origin_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_keys.id"],
            name=op.f("fk_relay_origin_keys_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["origin_id"],
            ["relay_origins.id"],
            name=op.f("fk_relay_origin_keys_origin_id_relay_origins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_relay_origin_keys")),
    )
    op.create_table(
        "relay_accepted",
        sa.Column("origin_id", ID, nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("answer", JSON, nullable=True),
        sa.Column("keep_until", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["origin_id"],
            ["relay_origins.id"],
            name=op.f("fk_relay_accepted_origin_id_relay_origins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("origin_id", "message_id", name=op.f("pk_relay_accepted")),
    )
    op.create_index("ix_relay_accepted_keep_until", "relay_accepted", ["keep_until"])
    op.create_table(
        "relay_counts",
        sa.Column("origin_id", ID, nullable=False),
        sa.Column("day", sa.Integer, nullable=False),
        sa.Column("what", sa.String(16), nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["origin_id"],
            ["relay_origins.id"],
            name=op.f("fk_relay_counts_origin_id_relay_origins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("origin_id", "day", "what", name=op.f("pk_relay_counts")),
    )


def downgrade() -> None:
    op.drop_table("relay_counts")
    op.drop_index("ix_relay_accepted_keep_until", table_name="relay_accepted")
    op.drop_table("relay_accepted")
    op.drop_table("relay_origin_keys")
    op.drop_table("relay_origins")
    with op.batch_alter_table("apps") as table:
        table.drop_column("relay")
