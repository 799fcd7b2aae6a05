"""Alembic, driven from code: ``pushgate migrate`` and ``serve`` call :func:`upgrade`."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the migrations folder, read once per process: reading it
    loads every migration script (about 15 ms of CPU), and the folder does not change
    under a running process."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (idempotent)."""

    def run(connection: Connection) -> None:
        if revision == "head" and _read_revision(connection) == head_revision():
            return  # already there; alembic would load every migration script to see so
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


def _read_revision(connection: Connection) -> str | None:
    # Readiness probes ask this often; alembic would log its context at INFO each time.
    migration_log = logging.getLogger("alembic.runtime.migration")
    level = migration_log.level
    migration_log.setLevel(logging.WARNING)
    try:
        return MigrationContext.configure(connection).get_current_revision()
    finally:
        migration_log.setLevel(level)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_read_revision)


async def is_current(engine: AsyncEngine) -> bool:
    return await current_revision(engine) == head_revision()
