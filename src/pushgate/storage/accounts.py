"""Queries for the instance record, tenants, API keys, apps and their credentials."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from pushgate.core.models import (
    ApiKey,
    App,
    RateLimit,
    Sealed,
    StoredCredential,
    Tenant,
    action_owner,
)
from pushgate.errors import Conflict
from pushgate.storage import rows
from pushgate.storage.engine import positional_sql, write_transaction
from pushgate.storage.tables import (
    actions,
    api_keys,
    apps,
    credentials,
    inbound_sources,
    instance,
    scoped_settings,
    tenants,
)


class BaseStore:
    """Holds the engine and turns constraint violations into ``Conflict``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._driver_sql: dict[str, tuple[str, tuple[str, ...]]] = {}

    def driver_sql(
        self, name: str, build: Callable[[], sa.ClauseElement]
    ) -> tuple[str, tuple[str, ...]]:
        """A statement compiled once for this engine, with its parameter order.

        Bulk writes hand the driver tuples in this order (``exec_driver_sql``), which skips
        SQLAlchemy's per-row parameter processing: most of the cost of large batches.
        """
        found = self._driver_sql.get(name)
        if found is None:
            found = self._driver_sql[name] = positional_sql(build(), self.engine.dialect)
        return found

    def dialect_insert(self) -> Any:
        """The dialect's INSERT construct, which has ``on_conflict_do_*`` on both engines."""
        return (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction (queued behind other writers on SQLite)."""
        async with write_transaction(self.engine) as connection:
            yield connection

    @asynccontextmanager
    async def write(self, what: str) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.begin() as connection:
                yield connection
        except sa.exc.IntegrityError as exc:
            raise Conflict(f"{what} already exists", details={"object": what}) from exc

    async def fetch_one(self, query: sa.Executable) -> sa.Row[Any] | None:
        async with self.engine.connect() as connection:
            return (await connection.execute(query)).first()

    async def fetch_all(self, query: sa.Executable) -> list[sa.Row[Any]]:
        async with self.engine.connect() as connection:
            return list((await connection.execute(query)).all())


class AccountStore(BaseStore):
    """Instance identity, tenants, API keys, apps and credentials."""

    async def instance_value(self, key: str, default: str) -> str:
        """The stored value for ``key``; stores ``default`` first when absent (race-safe)."""
        found = await self.fetch_one(sa.select(instance.c.value).where(instance.c.key == key))
        if found is not None:
            return str(found.value)
        # Another process may store it first; then its value is read back below.
        with contextlib.suppress(sa.exc.IntegrityError):
            async with self.begin() as connection:
                await connection.execute(sa.insert(instance).values(key=key, value=default))
        found = await self.fetch_one(sa.select(instance.c.value).where(instance.c.key == key))
        if found is None:  # instance values are never deleted
            raise RuntimeError(f"instance value {key!r} missing right after it was stored")
        return str(found.value)

    # -- tenants ----------------------------------------------------------------------
    async def insert_tenant(self, tenant: Tenant) -> None:
        async with self.write(f"tenant {tenant.name!r}") as connection:
            await connection.execute(
                sa.insert(tenants).values(
                    id=tenant.id, name=tenant.name, created_at=tenant.created_at
                )
            )

    async def tenant_by_name(self, name: str) -> Tenant | None:
        row = await self.fetch_one(sa.select(tenants).where(tenants.c.name == name))
        return rows.tenant(row) if row else None

    async def tenant_by_id(self, tenant_id: str) -> Tenant | None:
        row = await self.fetch_one(sa.select(tenants).where(tenants.c.id == tenant_id))
        return rows.tenant(row) if row else None

    async def list_tenants(self) -> list[Tenant]:
        return [rows.tenant(r) for r in await self.fetch_all(sa.select(tenants).order_by("name"))]

    async def rename_tenant(self, tenant_id: str, name: str) -> None:
        async with self.write(f"tenant {name!r}") as connection:
            await connection.execute(
                sa.update(tenants).where(tenants.c.id == tenant_id).values(name=name)
            )

    async def set_tenant_limits(
        self,
        tenant_id: str,
        rate_limit: RateLimit | None,
        send_rate_limit: RateLimit | None,
        deliveries_per_day: int | None,
    ) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(tenants)
                .where(tenants.c.id == tenant_id)
                .values(
                    rate_limit=rows.rate_limit_column(rate_limit),
                    send_rate_limit=rows.rate_limit_column(send_rate_limit),
                    deliveries_per_day=deliveries_per_day,
                )
            )

    async def delete_tenant(self, tenant_id: str) -> None:
        async with self.begin() as connection:
            await connection.execute(sa.delete(tenants).where(tenants.c.id == tenant_id))

    # -- API keys ---------------------------------------------------------------------
    async def insert_key(self, key: ApiKey) -> None:
        async with self.write("api key") as connection:
            await connection.execute(
                sa.insert(api_keys).values(
                    id=key.id,
                    tenant_id=key.tenant_id,
                    name=key.name,
                    prefix=key.prefix,
                    secret_hash=key.secret_hash,
                    scopes=sorted(s.value for s in key.scopes),
                    created_at=key.created_at,
                    expires_at=key.expires_at,
                )
            )

    async def key_by_prefix(self, prefix: str) -> ApiKey | None:
        row = await self.fetch_one(sa.select(api_keys).where(api_keys.c.prefix == prefix))
        return rows.api_key(row) if row else None

    async def key_by_id(self, key_id: str) -> ApiKey | None:
        row = await self.fetch_one(sa.select(api_keys).where(api_keys.c.id == key_id))
        return rows.api_key(row) if row else None

    async def list_keys(self, tenant_id: str | None, *, every_tenant: bool) -> list[ApiKey]:
        query = sa.select(api_keys).order_by(api_keys.c.created_at)
        if not every_tenant:
            query = query.where(api_keys.c.tenant_id == tenant_id)
        return [rows.api_key(r) for r in await self.fetch_all(query)]

    async def revoke_key(self, key_id: str, at: int) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )

    async def expire_key(self, key_id: str, at: int) -> None:
        """Make the key stop working at ``at``, unless it already stops sooner."""
        async with self.begin() as connection:
            await connection.execute(
                sa.update(api_keys)
                .where(
                    api_keys.c.id == key_id,
                    sa.or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > at),
                )
                .values(expires_at=at)
            )

    async def set_key_limit(self, key_id: str, rate_limit: RateLimit | None) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(api_keys)
                .where(api_keys.c.id == key_id)
                .values(rate_limit=rows.rate_limit_column(rate_limit))
            )

    async def touch_key(self, key_id: str, at: int) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=at)
            )

    async def count_keys(self) -> int:
        row = await self.fetch_one(sa.select(sa.func.count()).select_from(api_keys))
        return int(row[0]) if row else 0

    # -- apps -------------------------------------------------------------------------
    async def insert_app(self, app: App) -> None:
        async with self.write(f"app {app.name!r}") as connection:
            await connection.execute(
                sa.insert(apps).values(
                    id=app.id,
                    tenant_id=app.tenant_id,
                    name=app.name,
                    description=app.description,
                    created_at=app.created_at,
                    updated_at=app.updated_at,
                )
            )

    async def app_by_name(self, tenant_id: str, name: str) -> App | None:
        query = sa.select(apps).where(apps.c.tenant_id == tenant_id, apps.c.name == name)
        row = await self.fetch_one(query)
        return rows.app(row) if row else None

    async def app_name(self, app_id: str) -> str | None:
        """The app's name now (the send path names it in every push, docs/actions.md)."""
        row = await self.fetch_one(sa.select(apps.c.name).where(apps.c.id == app_id))
        return None if row is None else str(row[0])

    async def list_apps(self, tenant_id: str) -> list[App]:
        query = sa.select(apps).where(apps.c.tenant_id == tenant_id).order_by(apps.c.name)
        return [rows.app(r) for r in await self.fetch_all(query)]

    async def update_app(self, app_id: str, values: dict[str, Any]) -> None:
        async with self.write(f"app {values.get('name')!r}") as connection:
            await connection.execute(sa.update(apps).where(apps.c.id == app_id).values(**values))

    async def delete_app(self, app_id: str) -> None:
        async with self.begin() as connection:
            await connection.execute(sa.delete(apps).where(apps.c.id == app_id))

    async def app_user_secret(self, app_id: str) -> bytes | None:
        row = await self.fetch_one(sa.select(apps.c.user_auth_secret).where(apps.c.id == app_id))
        return bytes(row.user_auth_secret) if row and row.user_auth_secret else None

    # -- credentials --------------------------------------------------------------------
    async def put_credential(self, item: StoredCredential) -> None:
        async with self.begin() as connection:
            where = (credentials.c.app_id == item.app_id) & (credentials.c.kind == item.kind)
            await connection.execute(sa.delete(credentials).where(where))
            await connection.execute(
                sa.insert(credentials).values(
                    app_id=item.app_id,
                    kind=item.kind,
                    public=item.public,
                    fingerprints=item.fingerprints,
                    sealed=item.sealed,
                    updated_at=item.updated_at,
                )
            )

    async def list_credentials(self, app_id: str) -> list[StoredCredential]:
        query = sa.select(credentials).where(credentials.c.app_id == app_id).order_by("kind")
        return [rows.credential(r) for r in await self.fetch_all(query)]

    async def credential_version(
        self, app_id: str, kind: str
    ) -> tuple[int, int | None, str | None] | None:
        """(updated_at, paused_at, paused_reason) of one credential, or None: what a sender
        checks before every batch (another process may have changed or paused it), read
        at the driver level through a statement compiled once."""
        sql, _ = self.driver_sql(
            "credential_version",
            lambda: sa.select(
                credentials.c.updated_at, credentials.c.paused_at, credentials.c.paused_reason
            ).where(
                credentials.c.app_id == sa.bindparam("app_id"),
                credentials.c.kind == sa.bindparam("kind"),
            ),
        )
        async with self.engine.connect() as connection:
            row: Any = (await connection.exec_driver_sql(sql, (app_id, kind))).first()
        return None if row is None else (int(row[0]), row[1], row[2])

    async def delete_credential(self, app_id: str, kind: str) -> bool:
        async with self.begin() as connection:
            where = (credentials.c.app_id == app_id) & (credentials.c.kind == kind)
            result = await connection.execute(sa.delete(credentials).where(where))
            return bool(result.rowcount)

    # -- sealed secrets (key rotation) ---------------------------------------------------
    async def sealed_secrets(self) -> list[Sealed]:
        """Every sealed value of the instance: each app's credentials and user-auth secret,
        its actions' webhook secrets, and each tenant's operational webhook secret, secret
        settings and inbound sources' verifications."""
        found = [
            Sealed(row.app_id, row.kind, bytes(row.sealed))
            for row in await self.fetch_all(
                sa.select(credentials.c.app_id, credentials.c.kind, credentials.c.sealed)
            )
        ]
        found.extend(
            Sealed(row.id, Sealed.USER_AUTH, bytes(row.user_auth_secret))
            for row in await self.fetch_all(
                sa.select(apps.c.id, apps.c.user_auth_secret).where(
                    apps.c.user_auth_secret.is_not(None)
                )
            )
        )
        found.extend(
            Sealed(row.app_id, action_owner(row.id), bytes(row.secret))
            for row in await self.fetch_all(
                sa.select(actions.c.id, actions.c.app_id, actions.c.secret).where(
                    actions.c.secret.is_not(None)
                )
            )
        )
        found.extend(
            Sealed(row.id, Sealed.OPERATIONAL_WEBHOOK, bytes(row.ops_webhook_secret))
            for row in await self.fetch_all(
                sa.select(tenants.c.id, tenants.c.ops_webhook_secret).where(
                    tenants.c.ops_webhook_secret.is_not(None)
                )
            )
        )
        found.extend(
            Sealed(row.tenant_id, Sealed.SETTING + row.name, bytes(row.sealed))
            for row in await self.fetch_all(
                sa.select(
                    scoped_settings.c.tenant_id, scoped_settings.c.name, scoped_settings.c.sealed
                ).where(scoped_settings.c.sealed.is_not(None))
            )
        )
        found.extend(
            Sealed(row.tenant_id, Sealed.SOURCE + row.id, bytes(row.sealed))
            for row in await self.fetch_all(
                sa.select(
                    inbound_sources.c.id, inbound_sources.c.tenant_id, inbound_sources.c.sealed
                )
            )
        )
        return found

    async def replace_sealed(
        self, item: Sealed, sealed: bytes, fingerprints: dict[str, str] | None
    ) -> bool:
        """Write ``sealed`` (and the credential's new ``fingerprints``) in place of
        ``item``, only if it is still what was read: a credential changed meanwhile was
        sealed under the current key anyway. ``updated_at`` stays: the secret is the same."""
        statement: sa.Update
        if item.action_id is not None:
            statement = (
                sa.update(actions)
                .where(actions.c.id == item.action_id, actions.c.secret == item.sealed)
                .values(secret=sealed)
            )
        elif item.source_id is not None:
            statement = (
                sa.update(inbound_sources)
                .where(
                    inbound_sources.c.id == item.source_id,
                    inbound_sources.c.sealed == item.sealed,
                )
                .values(sealed=sealed)
            )
        elif item.setting_name is not None:
            statement = (
                sa.update(scoped_settings)
                .where(
                    scoped_settings.c.tenant_id == item.app_id,
                    scoped_settings.c.name == item.setting_name,
                    scoped_settings.c.sealed == item.sealed,
                )
                .values(sealed=sealed)
            )
        elif item.owner == Sealed.OPERATIONAL_WEBHOOK:
            statement = (
                sa.update(tenants)
                .where(tenants.c.id == item.app_id, tenants.c.ops_webhook_secret == item.sealed)
                .values(ops_webhook_secret=sealed)
            )
        elif item.owner == Sealed.USER_AUTH:
            statement = (
                sa.update(apps)
                .where(apps.c.id == item.app_id, apps.c.user_auth_secret == item.sealed)
                .values(user_auth_secret=sealed)
            )
        else:
            statement = (
                sa.update(credentials)
                .where(
                    credentials.c.app_id == item.app_id,
                    credentials.c.kind == item.owner,
                    credentials.c.sealed == item.sealed,
                )
                .values(sealed=sealed, fingerprints=fingerprints)
            )
        async with self.begin() as connection:
            return bool((await connection.execute(statement)).rowcount)
