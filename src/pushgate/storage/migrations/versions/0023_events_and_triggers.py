"""record events, triggers, trigger throttles

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "triggers",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("app_id", ID, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_triggers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_triggers_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triggers")),
        sa.UniqueConstraint("app_id", "key", name=op.f("uq_triggers_app_id_key")),
    )
    op.create_index("ix_triggers_tenant_id", "triggers", ["tenant_id"])
    op.create_table(
        "record_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("idempotency_key", sa.String(256), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("record_type", sa.String(64), nullable=False),
        sa.Column("record_id", sa.String(256), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("outcome", JSON, nullable=False),
        sa.Column("reason", sa.String(1024), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("processed_at", sa.BigInteger, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_record_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_events")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name=op.f("uq_record_events_tenant_id_idempotency_key")
        ),
    )
    op.create_index(
        "ix_record_events_tenant_id_record_type_record_id_created_at",
        "record_events",
        ["tenant_id", "record_type", "record_id", "created_at"],
    )
    op.create_index("ix_record_events_created_at", "record_events", ["created_at"])
    op.create_table(
        "trigger_throttles",
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("until", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_trigger_throttles")),
    )


def downgrade() -> None:
    op.drop_table("trigger_throttles")
    op.drop_index("ix_record_events_created_at", "record_events")
    op.drop_index("ix_record_events_tenant_id_record_type_record_id_created_at", "record_events")
    op.drop_table("record_events")
    op.drop_index("ix_triggers_tenant_id", "triggers")
    op.drop_table("triggers")
