"""Many rows as one PostgreSQL statement: one array parameter per column, ``unnest``-ed.

asyncpg's ``executemany`` runs a statement once per row and reports no row count; one
statement over arrays costs the same few round trips whatever the batch size, and its
status names how many rows it changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def array_type(column: sa.Column[Any]) -> sa.types.TypeEngine[Any]:
    """The array type a column's values are bound as."""
    # Untyped-length VARCHAR arrays: an explicit cast to VARCHAR(n) would truncate longer
    # values silently, while assignment to the column refuses them.
    element = column.type
    if isinstance(element, sa.String) and element.length is not None:
        element = sa.String()
    return postgresql.ARRAY(element)


def unnest(table: sa.Table, names: Sequence[str]) -> sa.TableValuedAlias:
    """Rows made of one array parameter per named column of ``table`` (each parameter is
    named after its column)."""
    arrays = [sa.bindparam(name, type_=array_type(table.c[name])) for name in names]
    return sa.func.unnest(*arrays).table_valued(*names).render_derived()


def arrays(rows: Sequence[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    """Row tuples turned into one list per column: the parameters of :func:`unnest`."""
    return tuple(list(column) for column in zip(*rows, strict=True))
