"""A tenant's general settings that time deliveries: its default quiet hours
(``quiet_hours.start`` and ``quiet_hours.end``) and its ``default_timezone``
(docs/delivery.md, "Quiet hours and local time").

Read once per tenant and kept a few seconds, like the type switches; a change made in
this process is seen at once (``forget``).
"""

from __future__ import annotations

from collections.abc import Mapping
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
    """What the fan-out reads of a tenant's times (core/deferral.py ``TimesPort``): its
    default quiet hours, which a person's own (their preferences, read with the page)
    take the place of, and the zone of recipients whose device and user name none."""

    def __init__(self, settings: GlobalSettingsPort, *, cache_seconds: float = 2.0) -> None:
        self.settings = settings
        self.cache: TtlCache[str, TenantTimes] = TtlCache(cache_seconds)

    async def of_tenant(self, tenant_id: str) -> TenantTimes:
        async def load() -> TenantTimes:
            return TenantTimes.of(await self.settings.global_values(tenant_id))

        found = await self.cache.get(tenant_id, load)
        return found if found is not None else await load()

    def forget(self) -> None:
        """Drop what is kept (after this process changed settings)."""
        self.cache.invalidate()
