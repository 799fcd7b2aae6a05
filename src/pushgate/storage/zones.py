"""The time zones of a fan-out page's recipients (core/deferral.py): each device's own,
else its user's."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from pushgate.storage.accounts import BaseStore
from pushgate.storage.id_sets import ids_value, in_ids
from pushgate.storage.tables import devices, users


class ZoneStore(BaseStore):
    async def zones_of(self, device_ids: Sequence[str]) -> dict[str, str]:
        """device id → the zone named by the device, else by its user; devices naming
        none (nor their users) are left out. One read per page."""
        if not device_ids:
            return {}
        dialect = self.engine.dialect.name
        zone = sa.func.coalesce(devices.c.timezone, users.c.timezone)
        query = (
            sa.select(devices.c.id, zone)
            .select_from(devices.outerjoin(users, users.c.id == devices.c.user_id))
            .where(in_ids(devices.c.id, "ids", dialect), zone.is_not(None))
        )
        async with self.engine.connect() as connection:
            rows = await connection.execute(query, {"ids": ids_value(device_ids, dialect)})
            return {row[0]: row[1] for row in rows}
