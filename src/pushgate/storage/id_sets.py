"""A list of ids bound as one parameter, so a statement compiles once for any count.

``column IN (:a, :b, …)`` needs a new statement for every list length; the hot paths
(a send batch read back, the deliveries a fan-out page made) run with hundreds of ids
and arbitrary counts. PostgreSQL takes the list as one array (``= ANY($1)``); SQLite as
one JSON text walked by ``json_each`` (https://sqlite.org/json1.html#jeach), which it
turns into primary-key or index lookups.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY


def in_ids(column: sa.ColumnElement[Any], name: str, dialect: str) -> sa.ColumnElement[bool]:
    """``column`` is one of the ids bound to the parameter ``name``."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=ARRAY(sa.Text)))
    listed = sa.func.json_each(sa.bindparam(name, type_=sa.Text)).table_valued("value")
    return column.in_(sa.select(listed.c.value))


def ids_value(ids: Sequence[str], dialect: str) -> Any:
    """The parameter value for :func:`in_ids`."""
    return list(ids) if dialect == "postgresql" else orjson.dumps(list(ids)).decode()
