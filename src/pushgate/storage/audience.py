"""An audience as a WHERE clause over ``devices``, for SQLite and PostgreSQL alike.

Topic and tag membership looks inside the JSON arrays on the device row: PostgreSQL asks
its ``jsonb`` operators, SQLite walks the array with ``json_each``.
"""

from __future__ import annotations

from typing import Any, assert_never

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, array

from pushgate.core import tagexpr
from pushgate.core.audience import (
    Audience,
    DevicesAudience,
    EveryoneAudience,
    TagsAudience,
    TopicsAudience,
    UserAliasesAudience,
    UsersAudience,
)
from pushgate.core.models import Provider
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
    match expr:
        case tagexpr.Tag(name=name):
            return _contains_any(devices.c.tags, [name], dialect)
        case tagexpr.Not(operand=operand):
            return sa.not_(_tag_clause(operand, dialect))
        case tagexpr.And(operands=operands):
            return sa.and_(*(_tag_clause(part, dialect) for part in operands))
        case tagexpr.Or(operands=operands):
            return sa.or_(*(_tag_clause(part, dialect) for part in operands))
        case _:
            assert_never(expr)


def _owned_by(owners: sa.Select[Any], in_app: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return sa.and_(in_app, devices.c.user_id.in_(owners))


def _named_devices(named: list[str], in_app: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    # Ids through the primary key, tokens through the unique (app_id, provider, token)
    # index (naming every provider lets it apply): never a scan of the app's devices.
    by_id = sa.select(devices.c.id).where(in_app, devices.c.id.in_(named))
    by_token = sa.select(devices.c.id).where(
        in_app,
        devices.c.provider.in_([provider.value for provider in Provider]),
        devices.c.token.in_(named),
    )
    return devices.c.id.in_(sa.union(by_id, by_token))


def audience_clause(
    audience: Audience, tenant_id: str, app_id: str, dialect: str
) -> sa.ColumnElement[bool]:
    """Devices of ``app_id`` that ``audience`` names (any state; callers add state).

    Each kind is its own branch, "everyone" too: a kind without one fails ``mypy``, and
    at run time raises, rather than selecting the whole app."""
    in_app = devices.c.app_id == app_id
    match audience:
        case UsersAudience(users=named):
            owners = sa.select(users.c.id).where(
                users.c.tenant_id == tenant_id, users.c.external_id.in_(named)
            )
            return _owned_by(owners, in_app)
        case UserAliasesAudience(user_aliases=named):
            owners = sa.select(user_aliases.c.user_id).where(
                user_aliases.c.app_id == app_id, user_aliases.c.alias.in_(named)
            )
            return _owned_by(owners, in_app)
        case DevicesAudience(devices=named):
            return _named_devices(named, in_app)
        case TopicsAudience(topics=named):
            return sa.and_(in_app, _contains_any(devices.c.topics, named, dialect))
        case TagsAudience(tags=expression):
            return sa.and_(in_app, _tag_clause(tagexpr.parse(expression), dialect))
        case EveryoneAudience():
            return in_app
        case _:
            assert_never(audience)
