"""Turns settings into concrete storage and services; the only module that sees them all."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from pushgate.config import Settings, load_or_create_secret_key
from pushgate.core.access import Access, CreatedKey
from pushgate.core.registry import Registry
from pushgate.core.secretbox import SecretBox
from pushgate.storage import migrate
from pushgate.storage.accounts import AccountStore
from pushgate.storage.engine import create_engine
from pushgate.storage.people import PeopleStore


@dataclass
class Services:
    """Everything a request handler, CLI command or worker needs, built once."""

    settings: Settings
    engine: AsyncEngine
    access: Access
    registry: Registry
    accounts: AccountStore
    people: PeopleStore

    async def close(self) -> None:
        await self.engine.dispose()

    async def is_database_ready(self) -> tuple[bool, str]:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
            current = await migrate.is_current(self.engine)
        except (OSError, sa.exc.SQLAlchemyError) as exc:
            return False, f"database unreachable: {type(exc).__name__}"
        return (True, "ok") if current else (False, "migrations pending")


async def build_services(settings: Settings, *, run_migrations: bool = True) -> Services:
    """Open the database (migrating it when asked) and assemble the services."""
    engine = create_engine(settings.effective_database_url)
    if run_migrations:
        await migrate.upgrade(engine)
    accounts = AccountStore(engine)
    people = PeopleStore(engine)
    box = SecretBox(load_or_create_secret_key(settings))
    access = Access(accounts)
    registry = Registry(accounts, people, box, allow_private_targets=settings.allow_private_targets)
    await access.ensure_default_tenant()
    await access.instance_id()
    return Services(settings, engine, access, registry, accounts, people)


async def first_start(services: Services) -> CreatedKey | None:
    """The bootstrap admin key when this is the instance's very first start."""
    return await services.access.bootstrap_admin_key()
