"""Whether a notification type is switched on for a recipient.

The nearest value of ``types.<key>.enabled`` up the recipient's unit chain (its unit, the
parent, …) wins, then the global value, then the type's own default. A recipient without
a unit resolves at the global scope. The fan-out asks once per page for every recipient
of the page; the tenant's unit tree and the type's switches are kept a few seconds
(docs/settings.md, "Resolution").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from pushgate.core.settings_catalog import GLOBAL, UNIT_PREFIX, unit_scope
from pushgate.core.suppression import SuppressionReason
from pushgate.core.ttlcache import TtlCache
from pushgate.core.units import Unit, chain, parents_of

DEFAULT = "default"
# (tenant id, type key) → whether the type is on where nothing says otherwise.
TypeDefault = Callable[[str, str], Awaitable[bool]]


class SwitchStorePort(Protocol):
    async def list_units(self, tenant_id: str) -> list[Unit]: ...
    async def type_flags(self, tenant_id: str, type_key: str) -> dict[str, bool]:
        """scope → value of ``types.<type_key>.enabled`` where one is set."""
        ...

    async def user_units(self, user_ids: Iterable[str]) -> dict[str, str]:
        """user id → unit key, for those of ``user_ids`` that belong to a unit."""
        ...


class SuppressionPort(Protocol):
    """What the fan-out asks: which recipients a type is switched off for, and why."""

    async def suppressed(
        self, tenant_id: str, type_key: str, user_ids: Iterable[str | None]
    ) -> dict[str | None, SuppressionReason]: ...


@dataclass(frozen=True, slots=True)
class Resolved:
    """A switch's value for one place and the scope it came from (``unit:<key>``,
    ``global`` or ``default``)."""

    enabled: bool
    source: str

    @property
    def reason(self) -> SuppressionReason | None:
        """Why a recipient here is not sent the type (None: it is)."""
        if self.enabled:
            return None
        if self.source.startswith(UNIT_PREFIX):
            return SuppressionReason.UNIT_DISABLED
        return SuppressionReason.TYPE_DISABLED


@dataclass(frozen=True, slots=True)
class SwitchBoard:
    """One type's switches in one tenant, with the unit tree they are read along."""

    parents: Mapping[str, str | None]
    flags: Mapping[str, bool]
    default: bool

    @property
    def by_unit(self) -> bool:
        """Whether some unit sets the switch (else every recipient resolves alike)."""
        return any(scope.startswith(UNIT_PREFIX) for scope in self.flags)

    def at(self, unit: str | None) -> Resolved:
        if unit is not None:
            for key in chain(unit, self.parents):
                value = self.flags.get(unit_scope(key))
                if value is not None:
                    return Resolved(value, unit_scope(key))
        value = self.flags.get(GLOBAL)
        if value is not None:
            return Resolved(value, GLOBAL)
        return Resolved(self.default, DEFAULT)


class TypeSwitches:
    """Resolves type switches for recipients; boards are cached ``cache_seconds``."""

    def __init__(
        self,
        store: SwitchStorePort,
        type_default: TypeDefault,
        *,
        cache_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.type_default = type_default
        self.boards: TtlCache[tuple[str, str], SwitchBoard] = TtlCache(cache_seconds)

    async def board(self, tenant_id: str, type_key: str) -> SwitchBoard:
        async def load() -> SwitchBoard:
            units = await self.store.list_units(tenant_id)
            flags = await self.store.type_flags(tenant_id, type_key)
            default = await self.type_default(tenant_id, type_key)
            return SwitchBoard(parents_of(units), flags, default)

        found = await self.boards.get((tenant_id, type_key), load)
        if found is None:  # load never answers None; a board is always made
            found = await load()
        return found

    async def suppressed(
        self, tenant_id: str, type_key: str, user_ids: Iterable[str | None]
    ) -> dict[str | None, SuppressionReason]:
        """The recipients among ``user_ids`` (None: devices without a user) not to be
        sent the type, with why; one read of the users' units."""
        board = await self.board(tenant_id, type_key)
        wanted = set(user_ids)
        if not board.by_unit:
            # The same answer for everyone: no unit says otherwise, so no read of units.
            everywhere = board.at(None).reason
            return {} if everywhere is None else dict.fromkeys(wanted, everywhere)
        units = await self.store.user_units([u for u in wanted if u is not None])
        found: dict[str | None, SuppressionReason] = {}
        for user_id in wanted:
            reason = board.at(units.get(user_id) if user_id is not None else None).reason
            if reason is not None:
                found[user_id] = reason
        return found

    def forget(self) -> None:
        """Drop cached boards (after this process changed settings or units)."""
        self.boards.invalidate()
