"""Device writes on PostgreSQL: a whole group is one statement over ``unnest``-ed arrays,
so it costs the same few round trips whatever its size (see ``device_writes.py``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from pushgate.storage.device_writes import (
    DEVICE_COLUMNS,
    DEVICE_KEY,
    KEEPABLE,
    USER_COLUMNS,
    DeviceWrite,
    DeviceWrites,
    Registered,
    UserKey,
    answer,
    device_params,
    new_user_params,
    refreshed,
    returned,
    user_ids_of,
    user_of,
)
from pushgate.storage.engine import compiled_in_order
from pushgate.storage.pg_arrays import arrays, unnest
from pushgate.storage.tables import devices, users


class PostgresDeviceWrites(DeviceWrites):
    """Whole groups as single statements over arrays, one array per column."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        # (upsert, upsert returning) per set of kept columns, compiled when first needed.
        self._statements: dict[frozenset[str], tuple[str, str]] = {}
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

    def _statement(self, kept: frozenset[str]) -> tuple[str, str]:
        found = self._statements.get(kept)
        if found is None:
            rows = unnest(devices, DEVICE_COLUMNS)
            insert = postgresql.insert(devices).from_select(DEVICE_COLUMNS, sa.select(*rows.c))
            upsert = insert.on_conflict_do_update(
                index_elements=DEVICE_KEY,
                set_={name: insert.excluded[name] for name in refreshed(kept)},
            )
            columns = (*returned(kept), *DEVICE_KEY)
            registered = upsert.returning(*(devices.c[name] for name in columns))
            found = (
                compiled_in_order(upsert, self._dialect, DEVICE_COLUMNS),
                compiled_in_order(registered, self._dialect, DEVICE_COLUMNS),
            )
            self._statements[kept] = found
        return found

    async def register(
        self, connection: AsyncConnection, writes: Sequence[DeviceWrite], at: int
    ) -> list[Registered]:
        ids = await self.user_ids(connection, user_ids_of(writes), at)
        user_ids = [user_of(device, name, ids) for device, name, _ in writes]
        params = [device_params(d, u) for (d, _, _), u in zip(writes, user_ids, strict=True)]
        kept_of = [kept for _, _, kept in writes]
        stored: dict[tuple[int, tuple[str, str, str]], Sequence[Any]] = {}
        for number, positions in enumerate(_rounds(params)):
            for row in await self._round(connection, params, positions, kept_of, answers=True):
                stored[(number, (row.app_id, row.provider, row.token))] = row
        answers: list[Registered] = []
        seen: Counter[tuple[str, str, str]] = Counter()
        for (device, _, kept), user_id, values in zip(writes, user_ids, params, strict=True):
            key = (values[2], values[3], values[4])
            row = stored[(seen[key], key)]
            seen[key] += 1
            answers.append(answer(device, user_id, kept, row))
        return answers

    async def upsert(
        self, connection: AsyncConnection, writes: Sequence[DeviceWrite], at: int
    ) -> None:
        ids = await self.user_ids(connection, user_ids_of(writes), at)
        params = [device_params(device, user_of(device, name, ids)) for device, name, _ in writes]
        kept_of = [kept for _, _, kept in writes]
        for positions in _rounds(params):
            await self._round(connection, params, positions, kept_of, answers=False)

    async def _round(
        self,
        connection: AsyncConnection,
        params: Sequence[tuple[Any, ...]],
        positions: list[int],
        kept_of: Sequence[frozenset[str]],
        *,
        answers: bool,
    ) -> list[Any]:
        """Writes one round (see ``_rounds``), one statement per set of kept columns."""
        parts = _by_kept(positions, kept_of)
        if len(parts) > 1:
            # First every row of the round in key order in one statement, keeping all it
            # may: the parts below then touch only rows this transaction holds, so groups
            # split differently still lock in one order and cannot deadlock.
            claim = self._statement(frozenset(KEEPABLE))[0]
            await connection.exec_driver_sql(claim, arrays([params[i] for i in positions]))
        found: list[Any] = []
        for kept, members in parts:
            statement = self._statement(kept)[1 if answers else 0]
            result = await connection.exec_driver_sql(
                statement, arrays([params[i] for i in members])
            )
            if answers:
                found.extend(result)
        return found

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


def _by_kept(
    positions: list[int], kept_of: Sequence[frozenset[str]]
) -> list[tuple[frozenset[str], list[int]]]:
    """A round's positions split by the columns their writes keep, each part in the round's
    order (its keys are distinct, so the parts may be written one after another)."""
    parts: dict[frozenset[str], list[int]] = {}
    for position in positions:
        parts.setdefault(kept_of[position], []).append(position)
    return list(parts.items())


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
