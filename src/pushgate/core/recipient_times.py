"""A tenant's general settings that time deliveries: its default quiet hours
(``quiet_hours.start`` and ``quiet_hours.end``) and its ``default_timezone``
(docs/delivery.md, "Quiet hours and local time").

Read once per tenant and kept a few seconds, like the type switches; a change made in
this process is seen at once (``forget``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pushgate.core.quiet_hours import UTC_ZONE, QuietHours, zone_of
from pushgate.core.ttlcache import TtlCache

# Quiet hours from the tenant's settings let no priority through unless
# ``quiet_hours.urgent_passes`` says so: ``high`` is every send's default priority, so
# letting it pass by default would leave the window all but empty. A person's own quiet
# hours (their preferences) say for themselves.
TENANT_URGENT_PASSES = False


class GlobalSettingsPort(Protocol):
    async def global_values(self, tenant_id: str) -> Mapping[str, Any]:
        """name → value of the tenant's global settings (secrets left out)."""
        ...


class UserQuietHoursPort(Protocol):
    """A person's own quiet hours, where they set some (their preferences): these win
    over the tenant's default."""

    async def own_quiet_hours(
        self, tenant_id: str, user_ids: Iterable[str]
    ) -> dict[str, QuietHours]: ...


class StoredQuietHoursPort(Protocol):
    async def quiet_hours(
        self, tenant_id: str, user_ids: Iterable[str]
    ) -> dict[str, dict[str, Any]]: ...


class PreferredQuietHours:
    """People's own quiet hours as their preferences store them (``start``, ``end``,
    ``urgent_passes``; core/preferences.py ``QuietHoursPort``), as ``QuietHours``; a
    stored value that does not read as one is left out, so the tenant's default applies.
    A tenant without any preferences (``tenant_has_preferences``, the flag the preference
    filter keeps) is not read for them: the fan-out asks on every page."""

    def __init__(
        self,
        store: StoredQuietHoursPort,
        tenant_has_preferences: Callable[[str], Awaitable[bool]],
    ) -> None:
        self.store = store
        self.tenant_has_preferences = tenant_has_preferences

    async def own_quiet_hours(
        self, tenant_id: str, user_ids: Iterable[str]
    ) -> dict[str, QuietHours]:
        found: dict[str, QuietHours] = {}
        people = list(user_ids)
        if not people or not await self.tenant_has_preferences(tenant_id):
            return found
        for user_id, stored in (await self.store.quiet_hours(tenant_id, people)).items():
            start, end = stored.get("start"), stored.get("end")
            if not isinstance(start, str) or not isinstance(end, str):
                continue
            try:
                found[user_id] = QuietHours.of(start, end, stored.get("urgent_passes") is not False)
            except ValueError:
                continue
        return found


@dataclass(frozen=True, slots=True)
class TenantTimes:
    """What a tenant's settings say of time: default quiet hours (None: none set, or only
    one end of them) and the default zone."""

    quiet: QuietHours | None
    zone: ZoneInfo

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> TenantTimes:
        start, end = values.get("quiet_hours.start"), values.get("quiet_hours.end")
        quiet = None
        if isinstance(start, str) and isinstance(end, str):
            passes = values.get("quiet_hours.urgent_passes", TENANT_URGENT_PASSES)
            quiet = QuietHours.of(start, end, passes is True)
        zone = values.get("default_timezone")
        return cls(quiet, zone_of(zone if isinstance(zone, str) else None) or UTC_ZONE)


class RecipientTimes:
    """The quiet-hours source of the fan-out (core/quiet_hours.py ``QuietHoursSource``):
    each recipient gets the tenant's default, or their own quiet hours when ``own`` (a
    person's preferences) has some; and the zone of recipients whose device and user name
    none."""

    def __init__(
        self,
        settings: GlobalSettingsPort,
        *,
        own: UserQuietHoursPort | None = None,
        cache_seconds: float = 2.0,
    ) -> None:
        self.settings = settings
        # The seam for per-person quiet hours: None until preferences provide them.
        self.own = own
        self.cache: TtlCache[str, TenantTimes] = TtlCache(cache_seconds)

    async def of_tenant(self, tenant_id: str) -> TenantTimes:
        async def load() -> TenantTimes:
            return TenantTimes.of(await self.settings.global_values(tenant_id))

        found = await self.cache.get(tenant_id, load)
        return found if found is not None else await load()

    async def quiet_hours(
        self, tenant_id: str, user_ids: Iterable[str | None]
    ) -> dict[str | None, QuietHours]:
        wanted = set(user_ids)
        default = (await self.of_tenant(tenant_id)).quiet
        found: dict[str | None, QuietHours] = (
            dict.fromkeys(wanted, default) if default is not None else {}
        )
        if self.own is not None:
            people = [u for u in wanted if u is not None]
            found.update(await self.own.own_quiet_hours(tenant_id, people))
        return found

    async def default_zone(self, tenant_id: str) -> ZoneInfo:
        return (await self.of_tenant(tenant_id)).zone

    def forget(self) -> None:
        """Drop what is kept (after this process changed settings)."""
        self.cache.invalidate()
