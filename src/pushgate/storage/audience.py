"""An audience as a WHERE clause over ``devices``, for SQLite and PostgreSQL alike.

Topic and tag membership looks inside the JSON arrays on the device row: PostgreSQL asks
its ``jsonb`` operators, SQLite walks the array with ``json_each``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, array

from pushgate.core import tagexpr
from pushgate.core.models import Provider
from pushgate.core.notification_input import Audience
from pushgate.storage.tables import devices, user_aliases, users


def _contains_any(
    column: sa.Column[Any], values: list[str], dialect: str
) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        clause: sa.ColumnElement[bool] = sa.cast(column, JSONB).has_any(array(values))
        return clause
    element = sa.func.json_each(column).table_valued("value").alias()
    return sa.exists(
        sa.select(sa.literal(1)).select_from(element).where(element.c.value.in_(values))
    )


def _tag_clause(expr: tagexpr.Expr, dialect: str) -> sa.ColumnElement[bool]:
    if isinstance(expr, tagexpr.Tag):
        return _contains_any(devices.c.tags, [expr.name], dialect)
    if isinstance(expr, tagexpr.Not):
        return sa.not_(_tag_clause(expr.operand, dialect))
    parts = [_tag_clause(part, dialect) for part in expr.operands]
    return sa.and_(*parts) if isinstance(expr, tagexpr.And) else sa.or_(*parts)


def audience_clause(
    audience: Audience, tenant_id: str, app_id: str, dialect: str
) -> sa.ColumnElement[bool]:
    """Devices of ``app_id`` that ``audience`` names (any state; callers add state)."""
    in_app = devices.c.app_id == app_id
    if audience.users:
        owners = sa.select(users.c.id).where(
            users.c.tenant_id == tenant_id, users.c.external_id.in_(audience.users)
        )
        return sa.and_(in_app, devices.c.user_id.in_(owners))
    if audience.user_aliases:
        owners = sa.select(user_aliases.c.user_id).where(
            user_aliases.c.app_id == app_id, user_aliases.c.alias.in_(audience.user_aliases)
        )
        return sa.and_(in_app, devices.c.user_id.in_(owners))
    if audience.devices:
        # Ids through the primary key, tokens through the unique (app_id, provider, token)
        # index (naming every provider lets it apply): never a scan of the app's devices.
        by_id = sa.select(devices.c.id).where(in_app, devices.c.id.in_(audience.devices))
        by_token = sa.select(devices.c.id).where(
            in_app,
            devices.c.provider.in_([provider.value for provider in Provider]),
            devices.c.token.in_(audience.devices),
        )
        return devices.c.id.in_(sa.union(by_id, by_token))
    if audience.topics:
        return sa.and_(in_app, _contains_any(devices.c.topics, audience.topics, dialect))
    if audience.tags:
        return sa.and_(in_app, _tag_clause(tagexpr.parse(audience.tags), dialect))
    return in_app
