"""Queries for notifications, their deliveries, and paused provider credentials."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, assert_never, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pushgate.core.audience import (
    Audience,
    DevicesAudience,
    EveryoneAudience,
    TagsAudience,
    TopicsAudience,
    UserAliasesAudience,
    UsersAudience,
)
from pushgate.core.ids import new_ids
from pushgate.core.models import DeviceState
from pushgate.core.notifications import (
    AddedDeliveries,
    AudienceMember,
    DeliveryRecord,
    DeliveryRecords,
    DeliveryResult,
    DeliveryState,
    DeviceAddress,
    DueDeliveries,
    DueDelivery,
    HeldTarget,
    Notification,
    NotificationState,
    Settled,
    Settlement,
)
from pushgate.core.ports import InTransaction
from pushgate.core.preferences import PagePreferences
from pushgate.core.suppression import COUNT_PREFIX, SuppressionReason, count_state
from pushgate.storage.accounts import BaseStore
from pushgate.storage.audience import audience_clause
from pushgate.storage.delivery_writes import (
    IS_PENDING,
    PENDING_LITERAL,
    DeliveryWrites,
    delivery_writes,
)
from pushgate.storage.engine import in_order, require_order
from pushgate.storage.id_sets import ids_value, in_ids
from pushgate.storage.preferences import page_preferences, preference_columns, with_preferences
from pushgate.storage.rollups import count_sent
from pushgate.storage.tables import (
    credentials,
    deliveries,
    delivery_counts,
    devices,
    notifications,
    settled_batches,
    user_aliases,
    users,
)

PENDING = DeliveryState.PENDING.value
SENT = DeliveryState.SENT.value
ACTIVE = DeviceState.ACTIVE.value
_FINAL_NOTIFICATION = (
    NotificationState.COMPLETED.value,
    NotificationState.EXPIRED.value,
    NotificationState.CANCELED.value,
)


def _json(value: Any) -> Any:
    """A JSON column read at the driver level: text on both engines, or None. A JSON null
    (SQLAlchemy's JSON type stores None as ``null``) is the common case: no parse."""
    if value is None or value == "null":
        return None
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _notification(row: sa.Row[Any]) -> Notification:
    return Notification(
        id=row.id,
        tenant_id=row.tenant_id,
        app_id=row.app_id,
        idempotency_key=row.idempotency_key,
        audience=_json(row.audience),
        content=_json(row.content),
        state=NotificationState(row.state),
        targeted=row.targeted,
        fanout_done=bool(row.fanout_done),
        send_at=row.send_at,
        expires_at=row.expires_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        records=DeliveryRecords(row.records),
        request_hash=row.request_hash,
        type_key=row.type_key,
    )


def _delivery(row: sa.Row[Any]) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        notification_id=row.notification_id,
        device_id=row.device_id,
        provider=row.provider,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        reason=row.reason,
        status=row.status,
        provider_message_id=row.provider_message_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _gone_reason(device_state: str | None) -> str:
    return "device deleted" if device_state is None else f"device {device_state}"


class NotificationStore(BaseStore):
    """Notifications, deliveries, and the pause flag on credentials."""

    # -- notifications ------------------------------------------------------------------
    async def insert_notification(
        self, item: Notification, within: InTransaction | None = None
    ) -> None:
        """Store the notification, and make ``within``'s writes (its first job) in the same
        transaction: a notification is never stored without its job."""
        async with self.write(f"notification with idempotency key {item.idempotency_key!r}") as c:
            await c.execute(
                sa.insert(notifications).values(
                    id=item.id,
                    tenant_id=item.tenant_id,
                    app_id=item.app_id,
                    idempotency_key=item.idempotency_key,
                    audience=item.audience,
                    content=item.content,
                    state=item.state.value,
                    targeted=item.targeted,
                    fanout_done=item.fanout_done,
                    send_at=item.send_at,
                    expires_at=item.expires_at,
                    created_at=item.created_at,
                    updated_at=item.updated_at,
                    records=item.records.value,
                    request_hash=item.request_hash,
                    type_key=item.type_key,
                )
            )
            if within is not None:
                await within(c)

    async def by_idempotency_key(self, tenant_id: str, key: str) -> Notification | None:
        where = (notifications.c.tenant_id == tenant_id) & (notifications.c.idempotency_key == key)
        row = await self.fetch_one(sa.select(notifications).where(where))
        return _notification(row) if row else None

    async def release_idempotency_key(self, notification_id: str) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(notifications)
                .where(notifications.c.id == notification_id)
                .values(idempotency_key=None)
            )

    async def notification(
        self, notification_id: str, tenant_id: str | None = None
    ) -> Notification | None:
        """Read at the driver level (compiled once): every job reads its notification, and
        a Core select cost ten times the read itself."""
        sql, _ = self.driver_sql(
            "notification",
            lambda: sa.select(*notifications.c).where(notifications.c.id == sa.bindparam("id")),
        )
        async with self.engine.connect() as connection:
            row = (await connection.exec_driver_sql(sql, (notification_id,))).first()
        if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
            return None
        return _notification(row)

    async def list_notifications(
        self,
        tenant_id: str,
        app_id: str | None,
        state: NotificationState | None,
        before: str | None,
        limit: int,
    ) -> list[Notification]:
        """A page of a tenant's notifications, newest first, older than the id ``before``."""
        query = sa.select(notifications).where(notifications.c.tenant_id == tenant_id)
        if app_id is not None:
            query = query.where(notifications.c.app_id == app_id)
        if state is not None:
            query = query.where(notifications.c.state == state.value)
        if before:
            query = query.where(notifications.c.id < before)
        query = query.order_by(notifications.c.id.desc()).limit(limit)
        return [_notification(r) for r in await self.fetch_all(query)]

    async def set_state(self, notification_id: str, state: NotificationState, at: int) -> None:
        async with self.begin() as connection:
            await self._set_state(connection, notification_id, state, at)

    async def _set_state(
        self, connection: AsyncConnection, notification_id: str, state: NotificationState, at: int
    ) -> None:
        """The notification's new state, unless it is final already."""
        await connection.execute(
            sa.update(notifications)
            .where(
                notifications.c.id == notification_id,
                notifications.c.state.not_in(_FINAL_NOTIFICATION),
            )
            .values(state=state.value, updated_at=at)
        )

    async def finish_fanout(self, notification_id: str, at: int) -> None:
        async with self.begin() as connection:
            await connection.execute(
                sa.update(notifications)
                .where(notifications.c.id == notification_id)
                .values(fanout_done=True, updated_at=at)
            )

    async def complete_if_done(self, notification_id: str, at: int) -> bool:
        """Mark the notification completed once fan-out ended and nothing is pending (by
        the kept counts: a notification that records failures only has no pending rows)."""
        pending = sa.exists().where(
            delivery_counts.c.notification_id == notification_id,
            delivery_counts.c.state == PENDING_LITERAL,
            delivery_counts.c.n > 0,
        )
        async with self.begin() as connection:
            result = await connection.execute(
                sa.update(notifications)
                .where(
                    notifications.c.id == notification_id,
                    notifications.c.fanout_done.is_(True),
                    notifications.c.state == NotificationState.SENDING.value,
                    ~pending,
                )
                .values(state=NotificationState.COMPLETED.value, updated_at=at)
            )
            return bool(result.rowcount)

    # -- audience -----------------------------------------------------------------------
    async def count_audience(
        self,
        audience: Audience,
        tenant_id: str,
        app_id: str,
        providers: Sequence[str] | None = None,
    ) -> int:
        """Active devices of the audience (of ``providers`` only, when given)."""
        clause = audience_clause(audience, tenant_id, app_id, self.engine.dialect.name)
        if providers:
            clause = sa.and_(clause, devices.c.provider.in_(list(providers)))
        query = (
            sa.select(sa.func.count())
            .select_from(devices)
            .where(clause, devices.c.state == DeviceState.ACTIVE.value)
        )
        row = await self.fetch_one(query)
        return int(row[0]) if row else 0

    async def unknown_people(self, audience: Audience, tenant_id: str, app_id: str) -> list[str]:
        """The external ids, aliases or topics an audience names that reach nobody."""
        match audience:
            case TopicsAudience(topics=named):
                # A topic no active device of the app follows reaches nobody: name it.
                return [
                    topic
                    for topic in sorted(set(named))
                    if not await self.count_audience(
                        TopicsAudience(topics=[topic]), tenant_id, app_id
                    )
                ]
            case UsersAudience(users=named):
                known = sa.select(users.c.external_id).where(users.c.tenant_id == tenant_id)
                return await self._not_found(known, users.c.external_id, named)
            case UserAliasesAudience(user_aliases=named):
                known = sa.select(user_aliases.c.alias).where(user_aliases.c.app_id == app_id)
                return await self._not_found(known, user_aliases.c.alias, named)
            case DevicesAudience() | TagsAudience() | EveryoneAudience():
                return []
            case _:
                assert_never(audience)

    async def _not_found(
        self, query: sa.Select[Any], column: sa.Column[str], named: list[str]
    ) -> list[str]:
        """Those of ``named`` that ``query``, filtered on ``column``, does not find."""
        known: set[str] = set()
        wanted = sorted(set(named))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            known.update(r[0] for r in await self.fetch_all(query.where(column.in_(chunk))))
        return [name for name in wanted if name not in known]

    async def audience_page(
        self,
        audience: Audience,
        tenant_id: str,
        app_id: str,
        after: str | None,
        limit: int,
        providers: Sequence[str] | None = None,
    ) -> list[AudienceMember]:
        """One page of the audience's active devices, in id order after ``after``, with
        what their deliveries and first sends need (device rows are not read whole).
        With ``providers`` (a notification type's), only devices of those kinds: the
        others are never targeted, so they get no delivery row at all."""
        rows = await self._page_rows(audience, tenant_id, app_id, after, limit, providers, False)
        return [AudienceMember(r[0], r[1], r[2], _json(r[3]), r[4], r[5], r[6]) for r in rows]

    async def audience_page_with_preferences(
        self,
        audience: Audience,
        tenant_id: str,
        app_id: str,
        after: str | None,
        limit: int,
        providers: Sequence[str] | None = None,
    ) -> tuple[list[AudienceMember], PagePreferences]:
        """:meth:`audience_page`, and in the same statement what the page's recipients
        chose: their users' and devices' preferences and their zones (two more
        primary-key lookups a row, where a read of its own would walk the page again)."""
        rows = await self._page_rows(audience, tenant_id, app_id, after, limit, providers, True)
        members = [AudienceMember(r[0], r[1], r[2], _json(r[3]), r[4], r[5], r[6]) for r in rows]
        return members, page_preferences(rows, 5, 7) if rows else PagePreferences({}, {})

    async def _page_rows(
        self,
        audience: Audience,
        tenant_id: str,
        app_id: str,
        after: str | None,
        limit: int,
        providers: Sequence[str] | None,
        preferences: bool,
    ) -> list[Any]:
        found: list[Any]
        match audience:
            case EveryoneAudience() if not providers:
                found = await self._everyone_page(app_id, after, limit, preferences)
            case (
                EveryoneAudience()
                | UsersAudience()
                | UserAliasesAudience()
                | DevicesAudience()
                | TopicsAudience()
                | TagsAudience()
            ):
                clause = audience_clause(audience, tenant_id, app_id, self.engine.dialect.name)
                if providers:
                    clause = sa.and_(clause, devices.c.provider.in_(list(providers)))
                query = self._page_query(clause, ACTIVE, after, limit, preferences)
                found = await self.fetch_all(query)
            case _:
                assert_never(audience)
        # By position: a Row's attribute access by name costs a microsecond a row here.
        return cast("list[Any]", found)  # Row or driver tuple, read by position alike

    async def _everyone_page(
        self, app_id: str, after: str | None, limit: int, preferences: bool
    ) -> list[Any]:
        # A broadcast reads a page per 2,000 devices: its statement is compiled once,
        # and its rows come back as the driver's tuples (making a Row of each, and
        # decoding its keys through the JSON type, cost a fifth of the page).
        name = "everyone_page" if after else "everyone_first_page"
        sql, order = self.driver_sql(
            f"{name}_with_preferences" if preferences else name,
            lambda: self._page_query(
                devices.c.app_id == sa.bindparam("app_id"),
                sa.bindparam("active"),
                sa.bindparam("after") if after else None,
                sa.bindparam("limit", type_=sa.Integer),
                preferences,
            ).offset(sa.bindparam("offset", type_=sa.Integer)),
        )
        params = {"app_id": app_id, "active": ACTIVE, "after": after, "limit": limit, "offset": 0}
        async with self.engine.connect() as connection:
            return list(await connection.exec_driver_sql(sql, in_order(order, params)))

    @staticmethod
    def _page_query(
        clause: sa.ColumnElement[bool], active: Any, after: Any, limit: Any, preferences: bool
    ) -> sa.Select[Any]:
        source = devices.outerjoin(users, users.c.id == devices.c.user_id)
        query = (
            sa.select(
                devices.c.id,
                devices.c.provider,
                devices.c.token,
                sa.type_coerce(devices.c["keys"], sa.Text),  # decoded by _json, if at all
                devices.c.locale,
                devices.c.user_id,
                users.c.locale,
                *(preference_columns() if preferences else ()),
            )
            .select_from(with_preferences(source) if preferences else source)
            .where(clause, devices.c.state == active)
        )
        if after is not None:
            query = query.where(devices.c.id > after)
        return query.order_by(devices.c.id).limit(limit)

    # -- deliveries ---------------------------------------------------------------------
    @cached_property
    def _writes(self) -> DeliveryWrites:
        return delivery_writes(self.engine.dialect)

    async def add_deliveries(
        self,
        notification_id: str,
        app_id: str,
        targets: Sequence[tuple[str, str]],
        at: int,
        suppressed: Sequence[tuple[str, str, SuppressionReason]] = (),
        held: Sequence[HeldTarget] = (),
    ) -> AddedDeliveries:
        """Deliveries to ``targets`` ((device id, provider)), existing ones kept; returns
        (delivery id, provider, device id) of those pending, and whether all are new.
        ``suppressed`` ((device id, provider, reason)) are written final, not to be sent.
        ``held`` wait: pending with their due time and reason, or expired at once when
        that time is past the notification's expiry (core/deferral.py)."""
        if not targets and not suppressed and not held:
            return AddedDeliveries([], True)
        # In DELIVERY_COLUMNS (table column) order: tests/contracts/test_delivery_store.py
        # reads each value back from its column.
        rows = [
            _delivery_row(i, notification_id, app_id, device, provider, PENDING, None, None, at)
            for i, (device, provider) in zip(new_ids(len(targets)), targets, strict=True)
        ]
        made = Counter((provider, PENDING) for _, provider in targets)
        for i, (device, provider, reason) in zip(new_ids(len(suppressed)), suppressed, strict=True):
            state = DeliveryState.SUPPRESSED.value
            rows.append(
                _delivery_row(i, notification_id, app_id, device, provider, state, None, reason, at)
            )
            made[(provider, count_state(reason))] += 1
        due: dict[str, int] = {}
        for i, item in zip(new_ids(len(held)), held, strict=True):
            state = PENDING if item.due_at is not None else DeliveryState.EXPIRED.value
            rows.append(
                _delivery_row(
                    i,
                    notification_id,
                    app_id,
                    item.device_id,
                    item.provider,
                    state,
                    item.due_at,
                    item.reason,
                    at,
                )
            )
            made[(item.provider, state)] += 1
            if item.due_at is not None:
                due[i] = item.due_at
        dialect = self.engine.dialect.name
        async with self.begin() as connection:
            await self._lock_counts(connection, notification_id)
            if await self._writes.insert(connection, rows) == len(rows):
                await self._count(connection, notification_id, made)
                pending = [(row[0], row[4], row[2]) for row in rows if row[5] == PENDING]
                return AddedDeliveries(pending, True, due)
            # The page ran before (its worker died after writing it): count afresh, and
            # read back which of its deliveries are still pending, and when held ones are due.
            await self._recount(connection, notification_id)
            sql, order = self.driver_sql(
                "pending_of_devices",
                lambda: sa.select(
                    deliveries.c.id,
                    deliveries.c.provider,
                    deliveries.c.device_id,
                    deliveries.c.next_attempt_at,
                    deliveries.c.attempts,
                ).where(
                    deliveries.c.notification_id == sa.bindparam("notification_id"),
                    in_ids(deliveries.c.device_id, "device_ids", dialect),
                    IS_PENDING,
                ),
            )
            params = {
                "notification_id": notification_id,
                # Every device of the page: one whose delivery the first run left pending
                # is sent, whatever the switches say now.
                "device_ids": ids_value([row[2] for row in rows], dialect),
            }
            found: Sequence[Any] = (
                await connection.exec_driver_sql(sql, in_order(order, params))
            ).fetchall()
            # Held ones: due later, never attempted (a retrying one has its retry job).
            again = {r[0]: int(r[3]) for r in found if r[3] is not None and not r[4]}
            return AddedDeliveries([(r[0], r[1], r[2]) for r in found], False, again)

    async def due_deliveries(self, delivery_ids: Sequence[str], now: int) -> DueDeliveries:
        """The deliveries among ``delivery_ids`` still pending and due (a retry waits for
        its time), with what sending needs of their devices; and apart, those whose device
        was deleted or is no longer active, which are not to be sent. Read at the driver
        level: this runs once per send batch, and object building was most of its cost."""
        dialect = self.engine.dialect.name
        sql, order = self.driver_sql(
            "due_deliveries",
            lambda: (
                sa.select(
                    deliveries.c.id,
                    deliveries.c.provider,
                    deliveries.c.attempts,
                    devices.c.id,
                    devices.c.token,
                    devices.c["keys"],
                    devices.c.locale,
                    devices.c.user_id,
                    users.c.locale,
                    devices.c.state,
                )
                .outerjoin(devices, devices.c.id == deliveries.c.device_id)
                .outerjoin(users, users.c.id == devices.c.user_id)
                .where(
                    in_ids(deliveries.c.id, "ids", dialect),
                    IS_PENDING,
                    sa.or_(
                        deliveries.c.next_attempt_at.is_(None),
                        deliveries.c.next_attempt_at <= sa.bindparam("now"),
                    ),
                )
            ),
        )
        params = {"ids": ids_value(delivery_ids, dialect), "now": now}
        async with self.engine.connect() as connection:
            found: Sequence[Any] = (
                await connection.exec_driver_sql(sql, in_order(order, params))
            ).fetchall()
        due = [
            DueDelivery(r[0], r[1], r[2], DeviceAddress(r[3], r[4], _json(r[5]), r[6], r[7]), r[8])
            for r in found
            if r[9] == ACTIVE
        ]
        if len(due) == len(found):
            return DueDeliveries(due, [])
        gone = [(r[0], r[1], r[2], _gone_reason(r[9])) for r in found if r[9] != ACTIVE]
        return DueDeliveries(due, gone)

    async def write_results(
        self, notification_id: str, provider: str, results: Sequence[DeliveryResult], at: int
    ) -> int:
        """Write the results of one batch (one notification, one provider) onto deliveries
        still pending; one canceled or expired meanwhile keeps that state. Returns how
        many of the notification's deliveries are still pending after it (from the kept
        counts, in the same transaction): only at 0 can the notification be complete."""
        if not results:
            return await self.pending_left(notification_id)
        rows_out = [  # in RESULT_COLUMNS order
            (
                r.state.value,
                r.attempts,
                r.next_attempt_at,
                r.reason[:512] if r.reason else None,
                r.status,
                r.provider_message_id,
                at,
                r.delivery_id,
            )
            for r in results
        ]
        moved = Counter((provider, r.state.value) for r in results)
        moved[(provider, PENDING)] -= len(results)
        async with self.begin() as connection:
            await self._lock_counts(connection, notification_id)
            if await self._writes.write_results(connection, rows_out) == len(rows_out):
                await self._count(connection, notification_id, moved)
                await count_sent(connection, notification_id, moved[(provider, SENT)], at)
            else:  # some were no longer pending (canceled, expired, or written twice)
                await self._recount(connection, notification_id)
            return await self._pending_left(connection, notification_id)

    async def pending_left(self, notification_id: str) -> int:
        """How many of the notification's deliveries are pending (kept counts)."""
        async with self.engine.connect() as connection:
            return await self._pending_left(connection, notification_id)

    async def invalidate_devices(self, dead: Sequence[tuple[str, str, int]], at: int) -> None:
        """(device id, reason, since) per dead token: the device stops receiving at once."""
        if not dead:
            return
        statement = (
            sa.update(devices)
            .where(
                devices.c.id == sa.bindparam("b_id"),
                devices.c.updated_at <= sa.bindparam("b_since"),
            )
            .values(
                state=DeviceState.INVALID.value,
                state_reason=sa.bindparam("b_reason"),
                state_changed_at=sa.bindparam("b_since"),
                updated_at=at,
            )
        )
        params = [
            {"b_id": i, "b_reason": reason[:256], "b_since": since} for i, reason, since in dead
        ]
        async with self.begin() as connection:
            await connection.execute(statement, params)

    async def counts(self, notification_id: str) -> list[tuple[str, str, int]]:
        """(provider, delivery state, count) rows of one notification."""
        return (await self.counts_of([notification_id])).get(notification_id, [])

    async def counts_of(
        self, notification_ids: Sequence[str]
    ) -> dict[str, list[tuple[str, str, int]]]:
        """(provider, delivery state, count) rows of each of a page of notifications."""
        found: dict[str, list[tuple[str, str, int]]] = {}
        if not notification_ids:
            return found
        query = sa.select(
            delivery_counts.c.notification_id,
            delivery_counts.c.provider,
            delivery_counts.c.state,
            delivery_counts.c.n,
        ).where(
            delivery_counts.c.notification_id.in_(list(notification_ids)),
            delivery_counts.c.n != 0,
        )
        for r in await self.fetch_all(query):
            found.setdefault(r.notification_id, []).append((r.provider, r.state, int(r.n)))
        return found

    async def list_deliveries(
        self, notification_id: str, state: str | None, after: str | None, limit: int
    ) -> list[DeliveryRecord]:
        """One page of a notification's deliveries in device-id order, after the device
        ``after``: the order of the (notification_id, device_id) key, so a page is a range
        read of it however many deliveries come before (in delivery-id order every page
        sorted all of the notification's deliveries)."""
        query = sa.select(deliveries).where(deliveries.c.notification_id == notification_id)
        if state is not None:
            query = query.where(deliveries.c.state == state)
        if after:
            query = query.where(deliveries.c.device_id > after)
        query = query.order_by(deliveries.c.device_id).limit(limit)
        return [_delivery(r) for r in await self.fetch_all(query)]

    async def finish_pending(
        self,
        notification_id: str,
        state: DeliveryState,
        reason: str,
        at: int,
        notification_state: NotificationState | None = None,
    ) -> int:
        """Move every pending delivery of a notification to a final ``state``, and the
        notification to ``notification_state`` (unless final already) in the same
        transaction. Those of a notification that records failures only are in its
        batches, not rows: their counts move, and a batch settling later moves none."""
        async with self.begin() as connection:
            await self._lock_counts(connection, notification_id)
            if notification_state is not None:
                await self._set_state(connection, notification_id, notification_state, at)
            result = await connection.execute(
                sa.update(deliveries)
                .where(deliveries.c.notification_id == notification_id, IS_PENDING)
                .values(state=state.value, reason=reason, updated_at=at)
            )
            records = (
                await connection.execute(
                    sa.select(notifications.c.records).where(notifications.c.id == notification_id)
                )
            ).scalar()
            if records == DeliveryRecords.FAILURES.value:
                return await self._finish_counted(connection, notification_id, state)
            if result.rowcount:
                await self._recount(connection, notification_id)
            return int(result.rowcount)

    async def _finish_counted(
        self, connection: AsyncConnection, notification_id: str, state: DeliveryState
    ) -> int:
        pending = await connection.execute(
            sa.select(delivery_counts.c.provider, delivery_counts.c.n).where(
                delivery_counts.c.notification_id == notification_id,
                delivery_counts.c.state == PENDING,
                delivery_counts.c.n != 0,
            )
        )
        moved: Counter[tuple[str, str]] = Counter()
        for provider, n in pending:
            moved[(provider, PENDING)] -= n
            moved[(provider, state.value)] += n
        await self._count(connection, notification_id, moved)
        return sum(n for (_, s), n in moved.items() if s != PENDING)

    # -- notifications that record failures only ---------------------------------------
    async def settle_once(
        self, notification_id: str, app_id: str, settlement: Settlement, at: int
    ) -> int:
        """Apply a fan-out page's or send batch's ``settlement`` unless its key was settled
        before, or the notification was canceled or expired meanwhile (whose finish moved
        every pending count already). Returns how many of the notification's deliveries
        are still pending after it (kept counts, in the same transaction)."""
        async with self.begin() as connection:
            # The mark first: on SQLite that insert begins the write transaction, so no
            # other process's cancel or expiry can commit between the state read and the
            # counts moved (sqlite3 begins a transaction only before a write).
            if await self._settle(connection, notification_id, settlement) and (
                await self._still_counting(connection, notification_id)
            ):
                if settlement.failed:
                    await self._writes.insert(
                        connection,
                        [
                            (
                                r.delivery_id,
                                notification_id,
                                device_id,
                                app_id,
                                provider,
                                r.state.value,
                                r.attempts,
                                None,  # next_attempt_at
                                r.reason[:512] if r.reason else None,
                                r.status,
                                None,  # provider_message_id
                                at,  # created_at
                                at,  # updated_at
                            )
                            for r, device_id, provider in settlement.failed
                        ],
                    )
                await self._count(connection, notification_id, settlement.moved)
                sent = sum(n for (_, state), n in settlement.moved.items() if state == SENT)
                await count_sent(connection, notification_id, sent, at)
            return await self._pending_left(connection, notification_id)

    async def settled(self, notification_id: str, key: str) -> Settled | None:
        """Whether ``key`` was settled, and what its settlement kept."""
        sql, _ = self.driver_sql(
            "settled",
            lambda: sa.select(settled_batches.c.kept).where(
                settled_batches.c.notification_id == sa.bindparam("id"),
                settled_batches.c.key == sa.bindparam("key"),
            ),
        )
        async with self.engine.connect() as connection:
            found = (await connection.exec_driver_sql(sql, (notification_id, key))).first()
        return None if found is None else Settled(found[0])

    async def devices_again(self, kept: Sequence[tuple[str, str]]) -> list[AudienceMember]:
        """A page as its first run read it ((device id, provider) in order), with what
        sending needs of each device now, whatever its state; a device deleted since has
        an empty token (its delivery fails, unsent)."""
        dialect = self.engine.dialect.name
        sql, order = self.driver_sql(
            "devices_again",
            lambda: (
                sa.select(
                    devices.c.id,
                    devices.c.token,
                    sa.type_coerce(devices.c["keys"], sa.Text),
                    devices.c.locale,
                    devices.c.user_id,
                    users.c.locale,
                )
                .select_from(devices.outerjoin(users, users.c.id == devices.c.user_id))
                .where(in_ids(devices.c.id, "ids", dialect))
            ),
        )
        params = {"ids": ids_value([device_id for device_id, _ in kept], dialect)}
        async with self.engine.connect() as connection:
            rows = cast(
                "list[Any]", (await connection.exec_driver_sql(sql, in_order(order, params))).all()
            )
            found = {r[0]: r for r in rows}
        members = []
        for device_id, provider in kept:
            r = found.get(device_id)
            if r is None:
                members.append(AudienceMember(device_id, provider, "", None, None, None, None))
            else:
                members.append(
                    AudienceMember(device_id, provider, r[1], _json(r[2]), r[3], r[4], r[5])
                )
        return members

    async def _still_counting(self, connection: AsyncConnection, notification_id: str) -> bool:
        """Whether the notification is not final, its row held (on PostgreSQL, FOR NO KEY
        UPDATE) so that a cancel or expiry, which moves every pending count, waits for this
        write to end, or this write for it. SQLite's write lock already orders them."""
        state = await self._held_state(connection, notification_id)
        return state is not None and state not in _FINAL_NOTIFICATION

    async def _held_state(self, connection: AsyncConnection, notification_id: str) -> str | None:
        """The notification's state, its row held till the transaction ends on PostgreSQL
        (FOR NO KEY UPDATE, which inserts referencing it do not wait for)."""
        sql, _ = self.driver_sql(
            "notification_state_held",
            lambda: (
                sa.select(notifications.c.state)
                .where(notifications.c.id == sa.bindparam("id"))
                .with_for_update(key_share=True)
            ),
        )
        state = (await connection.exec_driver_sql(sql, (notification_id,))).scalar()
        return None if state is None else str(state)

    async def _settle(
        self, connection: AsyncConnection, notification_id: str, settlement: Settlement
    ) -> bool:
        """Mark the settlement's key settled, with what it keeps; False when it was."""
        sql, _ = self.driver_sql(
            "settle",
            lambda: (
                self.dialect_insert()(settled_batches)
                .values(
                    notification_id=sa.bindparam("id"),
                    key=sa.bindparam("key"),
                    kept=sa.bindparam("kept"),
                )
                .on_conflict_do_nothing()
            ),
        )
        params = (notification_id, settlement.key, settlement.kept)
        return bool((await connection.exec_driver_sql(sql, params)).rowcount)

    # -- kept counts ----------------------------------------------------------------------
    async def _lock_counts(self, connection: AsyncConnection, notification_id: str) -> None:
        """Writers of one notification's deliveries and counts take turns, so a recount
        never races a count. SQLite's write lock already makes them; on PostgreSQL each
        takes the notification's row before anything else."""
        if self.engine.dialect.name == "postgresql":
            await self._held_state(connection, notification_id)

    async def _count(
        self, connection: AsyncConnection, notification_id: str, moved: Counter[tuple[str, str]]
    ) -> None:
        """Add ``moved`` ((provider, state) → change) to the notification's counts."""
        rows_out = sorted((notification_id, p, s, n) for (p, s), n in moved.items() if n)
        if not rows_out:
            return

        def build() -> sa.ClauseElement:
            insert = self.dialect_insert()(delivery_counts)
            upsert: sa.ClauseElement = insert.on_conflict_do_update(
                index_elements=list(delivery_counts.primary_key.columns.keys()),
                set_={"n": delivery_counts.c.n + insert.excluded.n},
            )
            return upsert

        sql, order = self.driver_sql("count_deliveries", build)
        require_order(order, ("notification_id", "provider", "state", "n"))
        await connection.exec_driver_sql(sql, rows_out)

    async def _pending_left(self, connection: AsyncConnection, notification_id: str) -> int:
        sql, _ = self.driver_sql(
            "pending_left",
            lambda: sa.select(sa.func.sum(delivery_counts.c.n)).where(
                delivery_counts.c.notification_id == sa.bindparam("id"),
                delivery_counts.c.state == PENDING_LITERAL,
            ),
        )
        left = (await connection.exec_driver_sql(sql, (notification_id,))).scalar_one()
        return int(left or 0)

    async def _recount(self, connection: AsyncConnection, notification_id: str) -> None:
        """Count the notification's deliveries afresh: after a write that did not change
        what it meant to (a page run twice, a result for a delivery no longer pending),
        and after cancel or expiry."""
        await connection.execute(
            sa.delete(delivery_counts).where(delivery_counts.c.notification_id == notification_id)
        )
        # A suppressed delivery counts under its reason (core/suppression.py).
        state = sa.case(
            (
                deliveries.c.state == DeliveryState.SUPPRESSED.value,
                sa.literal(COUNT_PREFIX) + sa.func.coalesce(deliveries.c.reason, ""),
            ),
            else_=deliveries.c.state,
        )
        counted = (
            sa.select(deliveries.c.notification_id, deliveries.c.provider, state, sa.func.count())
            .where(deliveries.c.notification_id == notification_id)
            .group_by(deliveries.c.notification_id, deliveries.c.provider, state)
        )
        await connection.execute(
            sa.insert(delivery_counts).from_select(
                ["notification_id", "provider", "state", "n"], counted
            )
        )

    # -- paused credentials -------------------------------------------------------------
    async def pause_credentials(
        self, app_id: str, kind: str, reason: str, at: int, within: InTransaction | None = None
    ) -> bool:
        """Pause the credentials (again: the reason and time are the latest refusal's);
        True when they were not paused before, and only then ``within`` runs in the same
        transaction (the operational event, core/operational_events.py)."""
        match = (credentials.c.app_id == app_id) & (credentials.c.kind == kind)
        values = {"paused_at": at, "paused_reason": reason[:512]}
        async with self.begin() as connection:
            fresh = await connection.execute(
                sa.update(credentials)
                .where(match, credentials.c.paused_at.is_(None))
                .values(**values)
            )
            if fresh.rowcount:
                if within is not None:
                    await within(connection)
                return True
            await connection.execute(sa.update(credentials).where(match).values(**values))
            return False

    async def resume_credentials(
        self, app_id: str, kind: str, within: InTransaction | None = None
    ) -> bool:
        """Clear a pause (the provider accepted a probe); False when none was set. When one
        was, ``within`` runs in the same transaction."""
        async with self.begin() as connection:
            result = await connection.execute(
                sa.update(credentials)
                .where(
                    credentials.c.app_id == app_id,
                    credentials.c.kind == kind,
                    credentials.c.paused_at.is_not(None),
                )
                .values(paused_at=None, paused_reason=None)
            )
            if result.rowcount and within is not None:
                await within(connection)
            return bool(result.rowcount)

    # -- retention ------------------------------------------------------------------------
    async def expire_overdue(self, now: int) -> list[str]:
        """Notifications past their expiry with pending deliveries: those become expired."""
        overdue = sa.select(notifications.c.id).where(
            notifications.c.expires_at <= now,
            notifications.c.state.not_in(_FINAL_NOTIFICATION),
        )
        ids = [r.id for r in await self.fetch_all(overdue.limit(1000))]
        for notification_id in ids:
            await self.expire(notification_id, now)
        return ids

    async def expire(self, notification_id: str, now: int) -> None:
        """Its time ran out: what is still pending expires, and so does the notification,
        in one transaction (a batch of a notification that records failures only, settling
        meanwhile, moves its counts either before or not at all)."""
        await self.finish_pending(
            notification_id, DeliveryState.EXPIRED, "ttl expired", now, NotificationState.EXPIRED
        )

    async def purge(self, cutoff: int, tenant_cutoffs: Mapping[str, int] | None = None) -> int:
        """Delete notifications (and their deliveries) created before ``cutoff``, or for
        the tenants in ``tenant_cutoffs``, before theirs; how many were deleted."""
        own = dict(tenant_cutoffs or {})
        deleted = 0
        async with self.begin() as connection:
            others = notifications.c.created_at < cutoff
            if own:
                others = others & notifications.c.tenant_id.not_in(list(own))
            deleted += (await connection.execute(sa.delete(notifications).where(others))).rowcount
            for tenant_id, tenant_cutoff in sorted(own.items()):
                result = await connection.execute(
                    sa.delete(notifications).where(
                        notifications.c.tenant_id == tenant_id,
                        notifications.c.created_at < tenant_cutoff,
                    )
                )
                deleted += result.rowcount
        return int(deleted)


def _delivery_row(
    delivery_id: str,
    notification_id: str,
    app_id: str,
    device_id: str,
    provider: str,
    state: str,
    next_attempt_at: int | None,
    reason: str | None,
    at: int,
) -> tuple[Any, ...]:
    """A new delivery's row, in DELIVERY_COLUMNS (table column) order."""
    return (
        delivery_id,
        notification_id,
        device_id,
        app_id,
        provider,
        state,
        0,  # attempts
        next_attempt_at,
        reason,
        None,  # status
        None,  # provider_message_id
        at,  # created_at
        at,  # updated_at
    )
