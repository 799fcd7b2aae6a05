"""actions and action sets: what a person can answer on a notification

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.String(36)


def _owned(table: str) -> list[Any]:
    """The id, owners and key every row of both tables has, with the names the metadata's
    naming convention gives them (storage/tables.py)."""
    return [
        sa.Column("id", ID, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("app_id", ID, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{table}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f(f"fk_{table}_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("app_id", "key", name=op.f(f"uq_{table}_app_id_key")),
    ]


def upgrade() -> None:
    op.create_table(
        "actions",
        *_owned("actions"),
        sa.Column("title", sa.String(64), nullable=False),
        sa.Column("titles", JSON, nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("text_input", JSON, nullable=True),
        sa.Column("handler_kind", sa.String(16), nullable=False),
        sa.Column("handler", JSON, nullable=False),
        sa.Column("secret", sa.LargeBinary, nullable=True),
        sa.Column("allow_repeats", sa.Boolean, nullable=False),
        sa.Column("deadline_seconds", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "action_sets",
        *_owned("action_sets"),
        sa.Column("action_keys", JSON, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("action_sets")
    op.drop_table("actions")
