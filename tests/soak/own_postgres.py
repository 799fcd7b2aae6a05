"""A PostgreSQL cluster of the soak's own: ``initdb`` into a temporary directory, started
with ``pg_ctl`` on a free loopback port with trust authentication, and restarted with
``pg_ctl restart -m immediate`` (a crash: no checkpoint, recovery from the WAL at start).

The shared server on 5432 is never touched. PostgreSQL refuses to run as root, so when the
soak runs as root the cluster belongs to the ``postgres`` system user."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.e2e.serving import free_port

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
OWNER = "postgres"


def find_program(name: str) -> str | None:
    """``initdb``/``pg_ctl`` of the newest installed major version, else from PATH."""
    for folder in BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    return shutil.which(name)


class OwnPostgres:
    """One throw-away cluster; ``url(database)`` names a database of it for pushgate."""

    def __init__(self) -> None:
        initdb, pg_ctl = find_program("initdb"), find_program("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("initdb/pg_ctl not found (apt-get install postgresql)")
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pushgate-soak-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._as_owner_prepare()
        self._run([self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"])
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.root} -c max_connections=200"
        )
        self._run(
            [
                self.pg_ctl,
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def restart_immediately(self) -> None:
        """A crash and a restart: ``-m immediate`` kills every backend at once, and the
        server replays its WAL when it comes back (PostgreSQL docs, ``pg_ctl``)."""
        # ``-l`` again: without it the new server would write into this process's pipes.
        self._run(
            [
                self.pg_ctl,
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-m",
                "immediate",
                "-w",
                "-t",
                "60",
                "restart",
            ]
        )

    def create_database(self, name: str) -> None:
        psql = find_program("psql")
        if psql is None:
            raise RuntimeError("psql not found")
        self._run(
            [
                psql,
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-c",
                f'CREATE DATABASE "{name}"',
            ]
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run([self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)

    def _as_owner_prepare(self) -> None:
        if os.geteuid() == 0:
            owner = pwd.getpwnam(OWNER)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)

    def _run(self, command: list[str]) -> None:
        if os.geteuid() == 0:
            command = ["runuser", "-u", OWNER, "--", *command]
        started = time.monotonic()
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(
                f"{command} failed after {time.monotonic() - started:.1f} s "
                f":\n{result.stdout}{result.stderr}\n{log[-4000:]}"
            )
