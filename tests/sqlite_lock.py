"""Another process holding a SQLite database's write lock, as a CLI command writing to
the same file does."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Takes the write lock, runs the given statements, says so, and commits when told to.
_HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
for statement in sys.argv[2:]:
    connection.execute(statement)
print("held", flush=True)
sys.stdin.readline()
connection.execute("COMMIT")
connection.close()
"""


class LockHolder:
    """The process holding the lock; :meth:`release` commits its transaction."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process

    def release(self) -> None:
        if self._process.poll() is None:
            self._process.communicate("\n", timeout=15)
        assert self._process.returncode == 0

    @property
    def is_holding(self) -> bool:
        return self._process.poll() is None


@contextmanager
def write_lock_held(database: Path, *statements: str) -> Iterator[LockHolder]:
    """Hold ``database``'s write lock in a child process (``BEGIN IMMEDIATE``, then
    ``statements``) until :meth:`LockHolder.release` or the end of the block; yields once
    the child says it holds the lock."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(database), *statements],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    holder = LockHolder(process)
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "held\n", "the lock holder did not start"
        yield holder
    finally:
        if process.poll() is None:
            holder.release()
