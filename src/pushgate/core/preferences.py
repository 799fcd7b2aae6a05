"""What a person chose to receive: a user's preferences per notification type and channel,
a device's switch and muted types, and how the fan-out applies them (docs/preferences.md).

Preferences apply to notifications of a type only (an opt-out is per type). A type whose
``opt_out_allowed`` is false passes every preference, a disabled device's included: what
people may not opt out of, they cannot silence by switching devices off either. The
fan-out reads a page's preferences with the page itself, in one statement, with the zones
its deferral needs, and checks them after the type's switches (core/type_switches.py); a
tenant where nobody set a preference costs nothing beyond a flag kept a few seconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from pushgate.core.notifications import AudienceMember
from pushgate.core.quiet_hours import QuietHours
from pushgate.core.suppression import SuppressionReason
from pushgate.core.ttlcache import TtlCache

# (app id, type key) → whether people may opt out of the type.
TypeOptional = Callable[[str, str], Awaitable[bool]]


class Choice(StrEnum):
    """Whether a user receives a type: ``in`` or ``out``."""

    IN = "in"
    OUT = "out"


@dataclass(frozen=True, slots=True)
class TypeChoice:
    """A user's word on one type: in or out (None: the user's default), and the channels
    (providers) they opted out of it on while it is in."""

    choice: Choice | None = None
    providers_out: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "choice": None if self.choice is None else self.choice.value,
            "providers_out": list(self.providers_out),
        }


@dataclass(frozen=True, slots=True)
class UserPreferences:
    """A user's preferences; ``quiet_hours`` is kept as given (start, end, urgent_passes)
    for the fan-out's deferral to read (``PagePreferences.own_quiet_hours``)."""

    default: Choice = Choice.IN
    types: Mapping[str, TypeChoice] = field(default_factory=dict)
    quiet_hours: dict[str, Any] | None = None

    @property
    def is_default(self) -> bool:
        """Whether these are what a user without preferences has (nothing to keep)."""
        return self.default is Choice.IN and not self.types and self.quiet_hours is None

    def opts_out(self, type_key: str, provider: str) -> bool:
        """Whether the user does not want ``type_key`` on ``provider``."""
        said = self.types.get(type_key)
        choice = said.choice if said is not None and said.choice is not None else self.default
        if choice is Choice.OUT:
            return True
        return said is not None and provider in said.providers_out

    def document(self) -> dict[str, Any]:
        """The stored and answered form of everything but quiet hours."""
        return {
            "default": self.default.value,
            "types": {key: item.as_json() for key, item in sorted(self.types.items())},
        }

    @classmethod
    def from_document(
        cls, document: Mapping[str, Any], quiet_hours: dict[str, Any] | None
    ) -> UserPreferences:
        types = {
            key: TypeChoice(
                None if item.get("choice") is None else Choice(item["choice"]),
                tuple(item.get("providers_out") or ()),
            )
            for key, item in (document.get("types") or {}).items()
        }
        return cls(Choice(document.get("default", Choice.IN.value)), types, quiet_hours)


@dataclass(frozen=True, slots=True)
class DevicePreferences:
    """A device's preferences: off entirely, or on with some types muted."""

    enabled: bool = True
    muted_types: tuple[str, ...] = ()

    @property
    def is_default(self) -> bool:
        return self.enabled and not self.muted_types

    def mutes(self, type_key: str) -> bool:
        return not self.enabled or type_key in self.muted_types


@dataclass(frozen=True, slots=True)
class PagePreferences:
    """What a fan-out page's recipients chose, read in one go: the preferences of its users
    and devices (those that have any), and the time zone each device names, else its user
    (those that name one), which deferral needs whenever someone has quiet hours."""

    users: Mapping[str, UserPreferences]
    devices: Mapping[str, DevicePreferences]
    zones: Mapping[str, str] = field(default_factory=dict)

    def own_quiet_hours(self) -> dict[str, QuietHours]:
        """user id → the quiet hours the user set (these take the place of the tenant's);
        a stored window that does not read as one is left out, so the tenant's applies."""
        found: dict[str, QuietHours] = {}
        for user_id, said in self.users.items():
            hours = QuietHours.from_stored(said.quiet_hours)
            if hours is not None:
                found[user_id] = hours
        return found


class PreferenceStorePort(Protocol):
    async def has_preferences(self, tenant_id: str) -> bool:
        """Whether any user or device of the tenant has preferences stored."""
        ...


def withheld_by_preference(
    type_key: str, page: Sequence[AudienceMember], found: PagePreferences
) -> dict[str, SuppressionReason]:
    """device id → why it is not sent ``type_key``: the user's opt-out first, then the
    device's mute (the order of docs/preferences.md)."""
    withheld: dict[str, SuppressionReason] = {}
    for member in page:
        user = found.users.get(member.user_id) if member.user_id is not None else None
        if user is not None and user.opts_out(type_key, member.provider):
            withheld[member.device_id] = SuppressionReason.OPTED_OUT
            continue
        device = found.devices.get(member.device_id)
        if device is not None and device.mutes(type_key):
            withheld[member.device_id] = SuppressionReason.DEVICE_MUTED
    return withheld


class PreferenceFilter:
    """What the fan-out asks after the type's switches: which of a page's devices their
    people chose not to be sent a type on, from the preferences read with the page.
    Whether a tenant has preferences at all is kept ``cache_seconds`` (changes made in
    this process are seen at once)."""

    def __init__(
        self, store: PreferenceStorePort, type_optional: TypeOptional, *, cache_seconds: float = 2.0
    ) -> None:
        self.store = store
        self.type_optional = type_optional
        self.tenants: TtlCache[str, bool] = TtlCache(cache_seconds)

    async def withheld(
        self,
        app_id: str,
        type_key: str,
        page: Sequence[AudienceMember],
        found: PagePreferences,
    ) -> dict[str, SuppressionReason]:
        """device id → why it is not sent ``type_key``, from the page's preferences."""
        if not found.users and not found.devices:
            return {}
        if not await self.type_optional(app_id, type_key):
            return {}
        return withheld_by_preference(type_key, page, found)

    async def tenant_has_preferences(self, tenant_id: str) -> bool:
        """Whether any of the tenant's people or devices have preferences (kept a while):
        also what spares the fan-out the read of people's own quiet hours."""

        async def load() -> bool:
            return await self.store.has_preferences(tenant_id)

        return bool(await self.tenants.get(tenant_id, load))

    def forget(self) -> None:
        """Drop the kept flags (after this process stored preferences)."""
        self.tenants.invalidate()
