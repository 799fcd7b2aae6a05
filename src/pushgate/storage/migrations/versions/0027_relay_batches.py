"""relay batches answered 202, read by the origin until their window ends

Revision ID: 0027
Revises: 0026
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "relay_batches",
        sa.Column("id", ID, nullable=False),
        sa.Column("origin_id", ID, nullable=False),
        sa.Column("answers", JSON, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("keep_until", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["origin_id"],
            ["relay_origins.id"],
            name=op.f("fk_relay_batches_origin_id_relay_origins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_batches")),
    )
    op.create_index("ix_relay_batches_keep_until", "relay_batches", ["keep_until"])


def downgrade() -> None:
    op.drop_index("ix_relay_batches_keep_until", table_name="relay_batches")
    op.drop_table("relay_batches")
