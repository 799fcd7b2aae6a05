"""Driver-level writes of devices and the users they name, for registrations and imports.

Statements are compiled once per engine and the driver gets plain tuples (SQLite) or one
array per column (PostgreSQL), skipping SQLAlchemy's per-row parameter processing, which
costs more than the write itself. On PostgreSQL a whole group is one statement over
``unnest``-ed arrays, so it costs the same few round trips whatever its size. Every
method runs inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from pushgate.core.ids import new_id
from pushgate.core.models import Device
from pushgate.errors import Conflict
from pushgate.storage.engine import compiled_in_order, sqlite_busy_error
from pushgate.storage.pg_arrays import arrays, unnest
from pushgate.storage.sqlite_inline import InlineConnection, is_busy
from pushgate.storage.tables import devices, users

# A device and the external id of its user (made when new); None keeps ``device.user_id``.
DeviceWrite = tuple[Device, str | None]
UserKey = tuple[str, str]  # (tenant_id, external_id)
Registered = tuple[Device, bool]  # the stored device, and whether it is new

# Columns a re-registration refreshes; identity, creation time and the token stay.
REFRESHED = (
    "keys",
    "platform",
    "user_id",
    "locale",
    "timezone",
    "topics",
    "tags",
    "app_version",
    "state",
    "state_reason",
    "state_changed_at",
    "updated_at",
)
DEVICE_KEY = ("app_id", "provider", "token")
DEVICE_COLUMNS = tuple(column.name for column in devices.c)
USER_COLUMNS = tuple(column.name for column in users.c)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def device_params(device: Device, user_id: str | None) -> tuple[Any, ...]:
    """The device's column values in ``DEVICE_COLUMNS`` order, JSON columns encoded."""
    return (
        device.id,
        device.tenant_id,
        device.app_id,
        device.provider.value,
        device.token,
        None if device.keys is None else _json(device.keys),
        device.platform.value,
        user_id,
        device.locale,
        device.timezone,
        _json(device.topics),
        _json(device.tags),
        device.app_version,
        device.state.value,
        device.state_reason,
        device.state_changed_at,
        device.created_at,
        device.updated_at,
    )


def new_user_params(tenant_id: str, external_id: str, at: int) -> tuple[Any, ...]:
    """A new user known only by its external id, in ``USER_COLUMNS`` order."""
    return (new_id(), tenant_id, external_id, None, None, "{}", at, at)


def _user_ids_of(writes: Sequence[DeviceWrite]) -> set[UserKey]:
    return {(device.tenant_id, name) for device, name in writes if name is not None}


def _user_of(device: Device, name: str | None, ids: dict[UserKey, str]) -> str | None:
    if name is None:
        return device.user_id
    found = ids.get((device.tenant_id, name))
    if found is None:
        raise Conflict(
            f"user {name!r} was deleted while their device was being registered",
            details={"user": name},
        )
    return found


class DeviceWrites(ABC):
    """Upserts devices by (app, provider, token) and makes the users they name."""

    @abstractmethod
    async def register(
        self, connection: AsyncConnection, writes: Sequence[DeviceWrite], at: int
    ) -> list[Registered]:
        """Write each device in order, as if one after another; one answer per write."""

    @abstractmethod
    async def upsert(
        self, connection: AsyncConnection, writes: Sequence[DeviceWrite], at: int
    ) -> None:
        """The same without answers, for bulk imports (later writes of a token win)."""

    @abstractmethod
    async def user_ids(
        self, connection: AsyncConnection, wanted: Collection[UserKey], at: int
    ) -> dict[UserKey, str]:
        """Ids of the named users, making those that do not exist yet."""


def device_writes_for(dialect: Dialect) -> DeviceWrites:
    """The implementation for the engine's backend."""
    if dialect.name == "postgresql":
        return PostgresDeviceWrites(dialect)
    return SqliteDeviceWrites(dialect)


class SqliteDeviceWrites(DeviceWrites):
    """Cached statements run on the inline sqlite3 connection, one per row."""

    def __init__(self, dialect: Dialect) -> None:
        insert = sqlite.insert(devices)
        upsert = insert.on_conflict_do_update(
            index_elements=DEVICE_KEY, set_={name: insert.excluded[name] for name in REFRESHED}
        )
        self._upsert = compiled_in_order(upsert, dialect, DEVICE_COLUMNS)
        registered = upsert.returning(devices.c.id, devices.c.created_at)
        self._register = compiled_in_order(registered, dialect, DEVICE_COLUMNS)
        self._insert_user = compiled_in_order(sa.insert(users), dialect, USER_COLUMNS)
        # One statement for any number of names: they travel as one JSON array.
        self._select_users = (
            "SELECT external_id, id FROM users"
            " WHERE tenant_id = ? AND external_id IN (SELECT value FROM json_each(?))"
        )

    async def register(
        self, connection: AsyncConnection, writes: Sequence[DeviceWrite], at: int
    ) -> list[Registered]:
        driver = await _begin_immediate(connection)
        ids = await self._user_ids(driver, _user_ids_of(writes), at)
        answers: list[Registered] = []
        for device, name in writes:
            user_id = _user_of(device, name, ids)
            cursor = await driver.execute(self._register, device_params(device, user_id))
            ((found, created_at),) = await cursor.fetchall()
            await cursor.close()
            stored = replace(device, id=found, user_id=user_id, created_at=created_at)
            answers.append((stored, found == device.id))
        return answers

    async def upsert(
        self, connection: AsyncConnection, writes: Sequence[DeviceWrite], at: int
    ) -> None:
        driver = await _begin_immediate(connection)
        ids = await self._user_ids(driver, _user_ids_of(writes), at)
        params = [device_params(device, _user_of(device, name, ids)) for device, name in writes]
        # In key order, inserts walk the (app, provider, token) index's pages in order
        # instead of at random; the sort is stable, so a token's later write stays later.
        params.sort(key=lambda row: (row[2], row[3], row[4]))
        cursor = driver.cursor()
        await cursor.executemany(self._upsert, params)
        await cursor.close()

    async def user_ids(
        self, connection: AsyncConnection, wanted: Collection[UserKey], at: int
    ) -> dict[UserKey, str]:
        driver = await _begin_immediate(connection)
        return await self._user_ids(driver, wanted, at)

    async def _user_ids(
        self, driver: InlineConnection, wanted: Collection[UserKey], at: int
    ) -> dict[UserKey, str]:
        by_tenant: dict[str, list[str]] = {}
        for tenant_id, external_id in wanted:
            by_tenant.setdefault(tenant_id, []).append(external_id)
        found: dict[UserKey, str] = {}
        for tenant_id, names in by_tenant.items():
            cursor = await driver.execute(self._select_users, (tenant_id, _json(names)))
            found.update({(tenant_id, name): id_ for name, id_ in await cursor.fetchall()})
            await cursor.close()
        # The transaction holds SQLite's write lock, so nobody can make these meanwhile.
        fresh = [new_user_params(t, e, at) for t, e in sorted(wanted) if (t, e) not in found]
        if fresh:
            cursor = driver.cursor()
            await cursor.executemany(self._insert_user, fresh)
            await cursor.close()
            found.update({(row[1], row[2]): row[0] for row in fresh})
        return found


async def _begin_immediate(connection: AsyncConnection) -> InlineConnection:
    """The sqlite3 connection, in a transaction that holds the write lock from its start.

    A deferred transaction that reads first cannot take the write lock later if another
    process wrote in between (SQLITE_BUSY_SNAPSHOT, which no waiting cures); taking it
    at BEGIN makes later reads and writes one consistent unit. The BEGIN itself waits
    for another process's lock without blocking the loop.
    """
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, InlineConnection):
        raise TypeError(f"SQLite engine without the inline driver: {type(driver).__name__}")
    try:
        cursor = await driver.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        # Run on the driver, past SQLAlchemy's translation of errors.
        if is_busy(exc):
            raise sqlite_busy_error() from exc
        raise
    await cursor.close()
    return driver


class PostgresDeviceWrites(DeviceWrites):
    """Whole groups as single statements over arrays, one array per column."""

    def __init__(self, dialect: Dialect) -> None:
        rows = unnest(devices, DEVICE_COLUMNS)
        insert = postgresql.insert(devices).from_select(DEVICE_COLUMNS, sa.select(*rows.c))
        upsert = insert.on_conflict_do_update(
            index_elements=DEVICE_KEY, set_={name: insert.excluded[name] for name in REFRESHED}
        )
        self._upsert = compiled_in_order(upsert, dialect, DEVICE_COLUMNS)
        registered = upsert.returning(
            *(devices.c[name] for name in ("id", "created_at", *DEVICE_KEY))
        )
        self._register = compiled_in_order(registered, dialect, DEVICE_COLUMNS)
        new_users = unnest(users, USER_COLUMNS)
        insert_users = postgresql.insert(users).from_select(USER_COLUMNS, sa.select(*new_users.c))
        self._insert_users = compiled_in_order(
            insert_users.on_conflict_do_nothing(index_elements=["tenant_id", "external_id"]),
            dialect,
            USER_COLUMNS,
        )
        names = unnest(users, ("tenant_id", "external_id"))
        select_users = sa.select(users.c.tenant_id, users.c.external_id, users.c.id).join(
            names,
            (users.c.tenant_id == names.c.tenant_id) & (users.c.external_id == names.c.external_id),
        )
        self._select_users = compiled_in_order(select_users, dialect, ("tenant_id", "external_id"))

    async def register(
        self, connection: AsyncConnection, writes: Sequence[DeviceWrite], at: int
    ) -> list[Registered]:
        ids = await self.user_ids(connection, _user_ids_of(writes), at)
        user_ids = [_user_of(device, name, ids) for device, name in writes]
        params = [device_params(d, u) for (d, _), u in zip(writes, user_ids, strict=True)]
        stored: dict[tuple[int, tuple[str, str, str]], tuple[str, int]] = {}
        for number, positions in enumerate(_rounds(params)):
            result = await connection.exec_driver_sql(
                self._register, arrays([params[i] for i in positions])
            )
            for row in result:
                key = (row.app_id, row.provider, row.token)
                stored[(number, key)] = (row.id, row.created_at)
        answers: list[Registered] = []
        seen: Counter[tuple[str, str, str]] = Counter()
        for (device, _), user_id, values in zip(writes, user_ids, params, strict=True):
            key = (values[2], values[3], values[4])
            found, created_at = stored[(seen[key], key)]
            seen[key] += 1
            answer = replace(device, id=found, user_id=user_id, created_at=created_at)
            answers.append((answer, found == device.id))
        return answers

    async def upsert(
        self, connection: AsyncConnection, writes: Sequence[DeviceWrite], at: int
    ) -> None:
        ids = await self.user_ids(connection, _user_ids_of(writes), at)
        params = [device_params(device, _user_of(device, name, ids)) for device, name in writes]
        for positions in _rounds(params):
            await connection.exec_driver_sql(self._upsert, arrays([params[i] for i in positions]))

    async def user_ids(
        self, connection: AsyncConnection, wanted: Collection[UserKey], at: int
    ) -> dict[UserKey, str]:
        if not wanted:
            return {}
        keys = sorted(wanted)
        found = await self._select(connection, keys)
        missing = [key for key in keys if key not in found]
        if missing:
            fresh = [new_user_params(tenant_id, name, at) for tenant_id, name in missing]
            await connection.exec_driver_sql(self._insert_users, arrays(fresh))
            # Read back rather than trust our ids: a concurrent writer may have made some.
            found.update(await self._select(connection, missing))
        return found

    async def _select(
        self, connection: AsyncConnection, keys: Sequence[UserKey]
    ) -> dict[UserKey, str]:
        result = await connection.exec_driver_sql(self._select_users, arrays(keys))
        return {(row.tenant_id, row.external_id): row.id for row in result}


def _rounds(params: Sequence[tuple[Any, ...]]) -> list[list[int]]:
    """Positions of the rows split so that no device key repeats within a round.

    One statement may not upsert a row twice (PostgreSQL refuses), so the n-th write of
    a key goes in round n: the outcome is that of writing them one after another. Each
    round is in key order, so concurrent groups lock rows in the same order and cannot
    deadlock on each other.
    """
    rounds: list[list[int]] = []
    seen: Counter[tuple[Any, ...]] = Counter()
    for position, values in enumerate(params):
        key = (values[2], values[3], values[4])
        number = seen[key]
        seen[key] += 1
        if number == len(rounds):
            rounds.append([])
        rounds[number].append(position)
    for positions in rounds:
        positions.sort(key=lambda i: (params[i][2], params[i][3], params[i][4]))
    return rounds
