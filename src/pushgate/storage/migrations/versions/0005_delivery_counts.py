"""deliveries without a device foreign key, a pending-only index, kept delivery counts

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_ONLY = sa.text("state = 'pending'")


def upgrade() -> None:
    op.drop_index("ix_deliveries_device_id", table_name="deliveries")
    op.drop_index("ix_deliveries_notification_id_state", table_name="deliveries")
    # SQLite cannot drop a foreign key in place: the batch rebuilds the table.
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("fk_deliveries_device_id_devices", type_="foreignkey")
    op.create_index(
        "ix_deliveries_pending",
        "deliveries",
        ["notification_id"],
        sqlite_where=PENDING_ONLY,
        postgresql_where=PENDING_ONLY,
    )
    op.create_table(
        "delivery_counts",
        sa.Column("notification_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_delivery_counts_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "notification_id", "provider", "state", name=op.f("pk_delivery_counts")
        ),
    )
    op.execute(
        "INSERT INTO delivery_counts (notification_id, provider, state, n) "
        "SELECT notification_id, provider, state, count(*) FROM deliveries "
        "GROUP BY notification_id, provider, state"
    )


def downgrade() -> None:
    op.drop_table("delivery_counts")
    op.drop_index("ix_deliveries_pending", table_name="deliveries")
    op.execute("DELETE FROM deliveries WHERE device_id NOT IN (SELECT id FROM devices)")
    with op.batch_alter_table("deliveries") as batch:
        batch.create_foreign_key(
            "fk_deliveries_device_id_devices",
            "devices",
            ["device_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_index(
        "ix_deliveries_notification_id_state", "deliveries", ["notification_id", "state"]
    )
    op.create_index("ix_deliveries_device_id", "deliveries", ["device_id"])
