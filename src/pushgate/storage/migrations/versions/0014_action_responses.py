"""action responses: one row per answer from a device, and the apps' texts for the push
sent back when an answer fails (or succeeds, when asked)

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "action_responses",
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("app_id", ID, nullable=False),
        sa.Column("notification_id", ID, nullable=False),
        sa.Column("delivery_id", ID, nullable=False),
        sa.Column("device_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("action_id", ID, nullable=False),
        sa.Column("action_key", sa.String(64), nullable=False),
        sa.Column("repeat_key", ID, nullable=False),
        sa.Column("input", sa.Text(), nullable=True),
        sa.Column("data", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", JSON, nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("handled_at", sa.BigInteger(), nullable=True),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_action_responses_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_responses")),
        sa.UniqueConstraint(
            "delivery_id", "repeat_key", name=op.f("uq_action_responses_delivery_id_repeat_key")
        ),
    )
    op.create_index(
        op.f("ix_action_responses_notification_id_id"),
        "action_responses",
        ["notification_id", "id"],
    )
    # NULL: the built-in English text (core/action_notices.py); action_confirm_text NULL:
    # no push on success.
    op.add_column("apps", sa.Column("action_error_text", JSON, nullable=True))
    op.add_column("apps", sa.Column("action_confirm_text", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("apps") as table:
        table.drop_column("action_confirm_text")
        table.drop_column("action_error_text")
    op.drop_index(op.f("ix_action_responses_notification_id_id"), table_name="action_responses")
    op.drop_table("action_responses")
