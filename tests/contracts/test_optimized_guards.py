"""Runtime checks on data integrity are real errors: ``python -O``, which strips every
``assert``, keeps them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Builds the delivery insert with its parameters expected in the wrong order, as rows
# laid out for an older table would be: it must be refused, not write into wrong columns.
SCRIPT = textwrap.dedent(
    """
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg
    from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite

    from pushgate.storage.delivery_writes import DELIVERY_COLUMNS
    from pushgate.storage.engine import compiled_in_order
    from pushgate.storage.tables import deliveries

    print("debug", __debug__)
    for dialect in (aiosqlite(), asyncpg()):
        compiled_in_order(sa.insert(deliveries), dialect, DELIVERY_COLUMNS)
        try:
            compiled_in_order(sa.insert(deliveries), dialect, DELIVERY_COLUMNS[::-1])
        except RuntimeError as exc:
            print(dialect.name, "refused:", "statement binds" in str(exc))
        else:
            print(dialect.name, "accepted")
    """
)


def test_a_statement_binding_out_of_order_is_refused_under_python_o() -> None:
    done = subprocess.run(
        [sys.executable, "-O", "-c", SCRIPT], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n") == [
        "debug False",
        "sqlite refused: True",
        "postgresql refused: True",
        "",
    ]
