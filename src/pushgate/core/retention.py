"""How long a tenant's notifications are kept: its global ``retention_days`` setting, else
the instance's (docs/settings.md, "Retention").

Undelivered notifications are retried until then (or their expiry, if sooner), then
deleted by the housekeeping purge with everything else of that age.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pushgate.core.ttlcache import TtlCache

DAY_MS = 24 * 3600 * 1000
SETTING = "retention_days"


class RetentionStorePort(Protocol):
    async def global_value(self, tenant_ids: Sequence[str], name: str) -> dict[str, Any]:
        """tenant id → the global value of ``name`` where set (every tenant's when
        ``tenant_ids`` is empty)."""
        ...


class TenantRetention:
    """Each tenant's retention window; read again every ``cache_seconds``."""

    def __init__(
        self, store: RetentionStorePort, default_days: int, *, cache_seconds: float = 30.0
    ) -> None:
        self.store = store
        self.default_days = default_days
        self.windows: TtlCache[str, int] = TtlCache(cache_seconds)

    async def window_ms(self, tenant_id: str) -> int:
        """How long after its creation a notification of the tenant is kept (ms)."""

        async def load() -> int:
            found = (await self.store.global_value([tenant_id], SETTING)).get(tenant_id)
            return _days(found, self.default_days) * DAY_MS

        window = await self.windows.get(tenant_id, load)
        return self.default_days * DAY_MS if window is None else window

    async def cutoffs(self, now: int) -> tuple[int, dict[str, int]]:
        """The instance's purge cutoff, and those of the tenants that set their own."""
        overrides = await self.store.global_value([], SETTING)
        own = {
            tenant_id: now - _days(value, self.default_days) * DAY_MS
            for tenant_id, value in overrides.items()
        }
        return now - self.default_days * DAY_MS, own


def _days(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
