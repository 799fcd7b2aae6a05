"""indexes for listing notifications newest first, per tenant and per app

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Notification ids are UUIDv7 (time-ordered): a listing pages down (tenant, id) or
    # (app, id) from its cursor. The (app_id, id) index also serves the cascade from apps,
    # which (app_id, created_at) did and nothing else read.
    op.create_index(op.f("ix_notifications_tenant_id_id"), "notifications", ["tenant_id", "id"])
    op.create_index(op.f("ix_notifications_app_id_id"), "notifications", ["app_id", "id"])
    op.drop_index(op.f("ix_notifications_app_id_created_at"), table_name="notifications")


def downgrade() -> None:
    op.create_index(
        op.f("ix_notifications_app_id_created_at"), "notifications", ["app_id", "created_at"]
    )
    op.drop_index(op.f("ix_notifications_app_id_id"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_tenant_id_id"), table_name="notifications")
