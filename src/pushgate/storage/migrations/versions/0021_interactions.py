"""interactions devices report, their counts per notification, hourly rollups per app

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "interactions",
        sa.Column("delivery_id", ID, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("action_key", sa.String(64), nullable=False),
        sa.Column("notification_id", ID, nullable=False),
        sa.Column("device_id", ID, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_interactions_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("delivery_id", "event", "action_key", name=op.f("pk_interactions")),
    )
    op.create_index(
        "ix_interactions_notification_id_delivery_id",
        "interactions",
        ["notification_id", "delivery_id"],
    )
    op.create_table(
        "notification_engagement",
        sa.Column("notification_id", ID, nullable=False),
        sa.Column("metric", sa.String(80), nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_engagement_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "notification_id", "metric", name=op.f("pk_notification_engagement")
        ),
    )
    op.create_table(
        "interaction_rollups",
        sa.Column("app_id", ID, nullable=False),
        sa.Column("hour", sa.BigInteger, nullable=False),
        sa.Column("type_key", sa.String(64), nullable=False),
        sa.Column("metric", sa.String(16), nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_interaction_rollups_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "app_id", "hour", "type_key", "metric", name=op.f("pk_interaction_rollups")
        ),
    )


def downgrade() -> None:
    op.drop_table("interaction_rollups")
    op.drop_table("notification_engagement")
    op.drop_index("ix_interactions_notification_id_delivery_id", table_name="interactions")
    op.drop_table("interactions")
