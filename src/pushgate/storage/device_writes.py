"""Driver-level writes of devices and the users they name, for registrations and imports.

Statements are compiled once per engine (and set of kept columns) and the driver gets
plain tuples (SQLite, here) or one array per column (PostgreSQL,
``device_writes_postgres.py``), skipping SQLAlchemy's per-row parameter processing, which
costs more than the write itself. Every method runs inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import replace
from itertools import groupby
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from pushgate.core.ids import new_id
from pushgate.core.inputs import KEPT_UNLESS_GIVEN
from pushgate.core.models import Device, Platform
from pushgate.errors import Conflict
from pushgate.storage.engine import compiled_in_order, sqlite_busy_error
from pushgate.storage.sqlite_inline import InlineConnection, is_busy
from pushgate.storage.tables import devices, users

# A device, the external id of its user (made when new; None keeps ``device.user_id``), and
# the fields an existing registration of its token keeps (``core.inputs.KEPT_UNLESS_GIVEN``).
DeviceWrite = tuple[Device, str | None, frozenset[str]]
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
KEEPABLE = tuple(KEPT_UNLESS_GIVEN)
DEVICE_KEY = ("app_id", "provider", "token")
DEVICE_COLUMNS = tuple(column.name for column in devices.c)
# What a user made by a registration has: its unit is set only through the user API.
USER_COLUMNS = tuple(column.name for column in users.c if column.name != "unit")


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


def refreshed(kept: frozenset[str]) -> tuple[str, ...]:
    """The columns an upsert sets on an existing row that keeps the ``kept`` ones."""
    return tuple(name for name in REFRESHED if name not in kept)


def user_ids_of(writes: Sequence[DeviceWrite]) -> set[UserKey]:
    return {(device.tenant_id, name) for device, name, _ in writes if name is not None}


def returned(kept: frozenset[str]) -> tuple[str, ...]:
    """What a registration's upsert returns: the row's id and creation time, and the
    columns it may have kept (only those: every other value is the write's own)."""
    return ("id", "created_at", *(name for name in KEEPABLE if name in kept))


def answer(
    device: Device, user_id: str | None, kept: frozenset[str], row: Sequence[Any]
) -> Registered:
    """The stored device from the ``returned(kept)`` row of its write."""
    found, created_at = row[0], row[1]
    if found == device.id:  # made new: stored as given
        return replace(device, user_id=user_id, created_at=created_at), True
    names = returned(kept)[2:]
    values: dict[str, Any] = {"id": found, "user_id": user_id, "created_at": created_at}
    for name, value in zip(names, row[2 : 2 + len(names)], strict=True):
        values[name] = _kept_value(name, value)
    return replace(device, **values), False


def _kept_value(name: str, value: Any) -> Any:
    if name == "platform":
        return Platform(value)
    if name in ("topics", "tags") and isinstance(value, str | bytes):
        return orjson.loads(value)  # JSON arrives as text at the driver level
    return value


def user_of(device: Device, name: str | None, ids: dict[UserKey, str]) -> str | None:
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


class SqliteDeviceWrites(DeviceWrites):
    """Cached statements run on the inline sqlite3 connection, one per row."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        # (upsert, upsert returning) per set of kept columns, compiled when first needed.
        self._statements: dict[frozenset[str], tuple[str, str]] = {}
        insert_user = sa.insert(users).values({name: sa.bindparam(name) for name in USER_COLUMNS})
        self._insert_user = compiled_in_order(insert_user, dialect, USER_COLUMNS)
        # One statement for any number of names: they travel as one JSON array.
        self._select_users = (
            "SELECT external_id, id FROM users"
            " WHERE tenant_id = ? AND external_id IN (SELECT value FROM json_each(?))"
        )

    def _statement(self, kept: frozenset[str]) -> tuple[str, str]:
        found = self._statements.get(kept)
        if found is None:
            insert = sqlite.insert(devices)
            upsert = insert.on_conflict_do_update(
                index_elements=DEVICE_KEY,
                set_={name: insert.excluded[name] for name in refreshed(kept)},
            )
            registered = upsert.returning(*(devices.c[n] for n in returned(kept)))
            found = (
                compiled_in_order(upsert, self._dialect, DEVICE_COLUMNS),
                compiled_in_order(registered, self._dialect, DEVICE_COLUMNS),
            )
            self._statements[kept] = found
        return found

    async def register(
        self, connection: AsyncConnection, writes: Sequence[DeviceWrite], at: int
    ) -> list[Registered]:
        driver = await _begin_immediate(connection)
        ids = await self._user_ids(driver, user_ids_of(writes), at)
        answers: list[Registered] = []
        for device, name, kept in writes:
            user_id = user_of(device, name, ids)
            statement = self._statement(kept)[1]
            cursor = await driver.execute(statement, device_params(device, user_id))
            (row,) = await cursor.fetchall()
            await cursor.close()
            answers.append(answer(device, user_id, kept, row))
        return answers

    async def upsert(
        self, connection: AsyncConnection, writes: Sequence[DeviceWrite], at: int
    ) -> None:
        driver = await _begin_immediate(connection)
        ids = await self._user_ids(driver, user_ids_of(writes), at)
        params = [
            (device_params(device, user_of(device, name, ids)), kept)
            for device, name, kept in writes
        ]
        # In key order, inserts walk the (app, provider, token) index's pages in order
        # instead of at random; the sort is stable, so a token's later write stays later.
        params.sort(key=lambda item: (item[0][2], item[0][3], item[0][4]))
        cursor = driver.cursor()
        # Consecutive rows that keep the same columns share one statement (a whole batch,
        # when its rows give the same fields).
        for kept, run in groupby(params, key=lambda item: item[1]):
            await cursor.executemany(self._statement(kept)[0], [values for values, _ in run])
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
