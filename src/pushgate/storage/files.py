"""Files that hold the instance's data are the service user's alone.

The data folder holds the database (every tenant's devices and notifications) and, by
default, the instance key that opens every stored provider secret: it is made 0700 and the
files in it 0600, whatever the process's umask, so another local account reads nothing.
SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file
(https://www.sqlite.org/tempfiles.html), so making the database 0600 covers them too.
"""

from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700 where this makes it; a folder
    that already exists keeps the mode its owner gave it."""
    if not path.is_dir():
        path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        # mkdir's mode is masked by the umask; set it outright.
        path.chmod(FOLDER_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 unless it exists, in a private folder."""
    private_folder(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    os.close(fd)
    return path


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (a 0600 temporary file renamed over it), so a
    crash leaves the old content or the new, never half of either."""
    private_folder(path.parent)
    temporary = path.with_name(f".{path.name}.new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
