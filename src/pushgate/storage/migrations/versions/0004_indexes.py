"""indexes for fan-out paging and for deleting devices

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Fan-out reads an app's active devices in id order, one page after another; the
    # index makes each page a range read instead of a scan and sort of the whole app.
    op.create_index("ix_devices_app_id_state_id", "devices", ["app_id", "state", "id"])
    # A deleted device's deliveries are deleted with it (ON DELETE CASCADE): found through
    # this index rather than a scan of every delivery per device.
    op.create_index(op.f("ix_deliveries_device_id"), "deliveries", ["device_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_deliveries_device_id"), table_name="deliveries")
    op.drop_index("ix_devices_app_id_state_id", table_name="devices")
