"""record events listed by tenant, name and record, trigger throttles purged by their end

Revision ID: 0026
Revises: 0025
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # GET /v1/events, newest first, of a tenant, an event name or a record (ids are UUIDv7).
    op.create_index("ix_record_events_tenant_id_id", "record_events", ["tenant_id", "id"])
    op.create_index(
        "ix_record_events_tenant_id_name_id", "record_events", ["tenant_id", "name", "id"]
    )
    op.create_index(
        "ix_record_events_tenant_id_record_type_record_id_id",
        "record_events",
        ["tenant_id", "record_type", "record_id", "id"],
    )
    # The housekeeping purge deletes throttles whose period has ended.
    op.create_index("ix_trigger_throttles_until", "trigger_throttles", ["until"])


def downgrade() -> None:
    op.drop_index("ix_trigger_throttles_until", "trigger_throttles")
    op.drop_index("ix_record_events_tenant_id_record_type_record_id_id", "record_events")
    op.drop_index("ix_record_events_tenant_id_name_id", "record_events")
    op.drop_index("ix_record_events_tenant_id_id", "record_events")
