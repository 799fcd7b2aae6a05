"""API keys may expire, and remember when they were last used

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Keys made before never expire and have no recorded use: NULL for both.
    op.add_column("api_keys", sa.Column("expires_at", sa.BigInteger, nullable=True))
    op.add_column("api_keys", sa.Column("last_used_at", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
