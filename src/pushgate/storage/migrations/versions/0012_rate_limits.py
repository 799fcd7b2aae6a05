"""rate limits: per API key, and per tenant for requests, sends and deliveries a day

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # NULL everywhere: no limit, as before.
    op.add_column("api_keys", sa.Column("rate_limit", JSON, nullable=True))
    op.add_column("tenants", sa.Column("rate_limit", JSON, nullable=True))
    op.add_column("tenants", sa.Column("send_rate_limit", JSON, nullable=True))
    op.add_column("tenants", sa.Column("deliveries_per_day", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as table:
        table.drop_column("deliveries_per_day")
        table.drop_column("send_rate_limit")
        table.drop_column("rate_limit")
    with op.batch_alter_table("api_keys") as table:
        table.drop_column("rate_limit")
