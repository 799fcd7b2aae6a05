"""Every ``pushgate`` command pays for what the CLI imports before it runs: the command
modules import the web framework, the database layer and the API models only inside the
commands that use them (bench/README.md, "Test suite")."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fastapi", "sqlalchemy", "alembic", "uvicorn", "httpx", "redis")


def test_importing_the_cli_loads_no_framework_or_database_module() -> None:
    probe = (
        "import sys, pushgate.cli; "
        f"print(','.join(name for name in {HEAVY!r} if name in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert loaded == ""
