"""Copies of an SQLite database taken and restored while it may be in use.

Both directions use SQLite's online backup API (https://www.sqlite.org/backup.html), which
copies a consistent snapshot page by page, WAL content included, taking the locks it needs:
a copy made beside a running server is never torn. PostgreSQL has its own tools for this
(``pg_dump``/``pg_restore``); :func:`pg_dump_command` says how to call them for a URL.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from pushgate.errors import InvalidInput
from pushgate.storage.files import private_file
from pushgate.storage.migrate import alembic_config

# Counted in the summary of a copy, so the operator sees what it holds.
COUNTED_TABLES = ("tenants", "apps", "devices", "notifications")


@dataclass(frozen=True, slots=True)
class CopySummary:
    path: Path
    bytes: int
    revision: str | None
    rows: dict[str, int]


def backup(source: Path, target: Path) -> CopySummary:
    """Copy the database at ``source`` to the new file ``target`` (0600)."""
    if target.exists():
        raise InvalidInput(f"{target} exists: choose a new file", details={"field": "path"})
    if not source.is_file():
        raise InvalidInput(f"{source} does not exist", details={"field": "database"})
    private_file(target)
    _copy(source, target)
    return summarize(target)


def restore(copy: Path, target: Path) -> CopySummary:
    """Replace the database at ``target`` with the copy ``copy``, after checking that the copy
    is an intact pushgate database no newer than this version of pushgate."""
    summary = summarize(copy)
    known = {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }
    if summary.revision is None or summary.revision not in known:
        raise InvalidInput(
            f"{copy} is not a database this version of pushgate knows "
            f"(revision {summary.revision!r})",
            details={"field": "path", "revision": summary.revision},
        )
    private_file(target)
    _copy(copy, target)
    return summarize(target)


def summarize(path: Path) -> CopySummary:
    """Check ``path`` is an intact SQLite database and say what it holds."""
    try:
        with _connect(path, read_only=True) as connection:
            (verdict,) = connection.execute("PRAGMA integrity_check").fetchone()
            if verdict != "ok":
                raise InvalidInput(f"{path} is damaged: {verdict}", details={"field": "path"})
            tables = {
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
            revision = None
            if "alembic_version" in tables:
                found = connection.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = found[0] if found else None
            rows = {
                table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - names from COUNTED_TABLES
                for table in COUNTED_TABLES
                if table in tables
            }
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(
            f"{path} is not an SQLite database: {exc}", details={"field": "path"}
        ) from exc
    return CopySummary(path, path.stat().st_size, revision, rows)


def pg_dump_command(url: str, target: Path) -> list[str]:
    """The ``pg_dump`` call that backs up the PostgreSQL database at ``url`` (custom format,
    restorable with ``pg_restore --clean``)."""
    parsed = sa.engine.make_url(url).set(drivername="postgresql")
    return [
        "pg_dump",
        "--format=custom",
        f"--file={target}",
        parsed.render_as_string(hide_password=False),
    ]


@contextlib.contextmanager
def _connect(path: Path, *, read_only: bool) -> Iterator[sqlite3.Connection]:
    mode = "ro" if read_only else "rw"
    # A long busy timeout: the copy waits out a server's short write transactions.
    connection = sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=30)
    try:
        yield connection
    finally:
        connection.close()


def _copy(source: Path, target: Path) -> None:
    with _connect(source, read_only=True) as reader, _connect(target, read_only=False) as writer:
        reader.backup(writer)
