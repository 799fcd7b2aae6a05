"""Reading and setting preferences, and who may (docs/preferences.md, "Who may").

Server-side keys (``send`` or ``admin``) read and set anyone's in their tenant. A device
client (a ``devices:register`` key, carried by an app's build) acts for the user its
``Pushgate-User-Token`` proves: that user's preferences and their devices' only, so an
app's settings screen can offer them. A user's preferences name no app, so a device
client names the app whose user-auth secret signed its token (``app``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from pushgate.core.access import Caller
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.models import Device, Scope, Tenant, User
from pushgate.core.preferences import DevicePreferences, PreferenceFilter, UserPreferences
from pushgate.core.registry import Registry, is_device_client
from pushgate.errors import Forbidden, InvalidInput, NotFound

# tenant id → the keys of its notification types.
TypeKeys = Callable[[str], Awaitable[list[str]]]


class PreferenceRecordsPort(Protocol):
    async def user_preferences(self, user_id: str) -> UserPreferences | None: ...
    async def put_user_preferences(
        self, tenant_id: str, user_id: str, preferences: UserPreferences, at: int
    ) -> None: ...
    async def device_preferences(self, device_id: str) -> DevicePreferences | None: ...
    async def put_device_preferences(
        self, tenant_id: str, device_id: str, preferences: DevicePreferences, at: int
    ) -> None: ...


class Preferences:
    """``GET/PUT /v1/users/{id}/preferences`` and ``/v1/devices/{id}/preferences``."""

    def __init__(
        self,
        store: PreferenceRecordsPort,
        registry: Registry,
        type_keys: TypeKeys,
        preference_filter: PreferenceFilter,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.registry = registry
        self.type_keys = type_keys
        self.filter = preference_filter
        self.clock = clock

    async def user(
        self,
        caller: Caller,
        tenant: Tenant,
        external_id: str,
        app_name: str | None = None,
        user_token: str | None = None,
    ) -> UserPreferences:
        found = await self._user(caller, tenant, external_id, app_name, user_token)
        return await self.store.user_preferences(found.id) or UserPreferences()

    async def set_user(
        self,
        caller: Caller,
        tenant: Tenant,
        external_id: str,
        preferences: UserPreferences,
        app_name: str | None = None,
        user_token: str | None = None,
    ) -> UserPreferences:
        found = await self._user(caller, tenant, external_id, app_name, user_token)
        await self._known(tenant, preferences.types, "types")
        await self.store.put_user_preferences(tenant.id, found.id, preferences, self._now())
        self.filter.forget()
        return preferences

    async def device(
        self, caller: Caller, tenant: Tenant, device_id: str, user_token: str | None = None
    ) -> DevicePreferences:
        found = await self._device(caller, tenant, device_id, user_token)
        return await self.store.device_preferences(found.id) or DevicePreferences()

    async def set_device(
        self,
        caller: Caller,
        tenant: Tenant,
        device_id: str,
        preferences: DevicePreferences,
        user_token: str | None = None,
    ) -> DevicePreferences:
        found = await self._device(caller, tenant, device_id, user_token)
        await self._known(tenant, preferences.muted_types, "muted_types")
        await self.store.put_device_preferences(tenant.id, found.id, preferences, self._now())
        self.filter.forget()
        return preferences

    async def _user(
        self,
        caller: Caller,
        tenant: Tenant,
        external_id: str,
        app_name: str | None,
        user_token: str | None,
    ) -> User:
        if not is_device_client(caller):
            return await self.registry.user(caller, tenant, external_id)
        caller.require(Scope.DEVICES_REGISTER)
        if app_name is None:
            raise InvalidInput(
                "app: a device key names the app whose user token it sends",
                details={"field": "app"},
            )
        app = await self.registry.app(tenant, app_name)
        subject = await self.registry.user_of_token(app.id, user_token)
        if subject is None:
            raise Forbidden(
                f"app {app_name!r} has no user-auth secret, so no user token can prove "
                "the user: a device key cannot act on a user's preferences",
                details={"app": app_name},
            )
        if subject != external_id:
            raise Forbidden("the user token belongs to another user", details={"user": external_id})
        found = await self.registry.people.user_by_external_id(tenant.id, external_id)
        if found is None:
            raise NotFound(f"user {external_id!r} not found", details={"user": external_id})
        return found

    async def _device(
        self, caller: Caller, tenant: Tenant, device_id: str, user_token: str | None
    ) -> Device:
        """The device, for a server-side key; for a device client, only a device of the
        user its token proves (a device of an app without a user-auth secret is reached
        by its id, as reading or unregistering it is)."""
        caller.require(Scope.ADMIN, Scope.SEND, Scope.DEVICES_REGISTER)
        found = await self.registry.people.device_by_id(tenant.id, device_id)
        if found is None:
            raise NotFound(f"device {device_id!r} not found", details={"device": device_id})
        if is_device_client(caller):
            subject = await self.registry.user_of_token(found.app_id, user_token)
            if subject is not None and not await self._belongs_to(found, subject):
                raise Forbidden(
                    "the device belongs to another user than the user token's",
                    details={"device": device_id},
                )
        return found

    async def _belongs_to(self, device: Device, external_id: str) -> bool:
        if device.user_id is None:
            return False
        owner = await self.registry.people.user_by_id(device.user_id)
        return owner is not None and owner.external_id == external_id

    async def _known(self, tenant: Tenant, keys: Iterable[str], field: str) -> None:
        """Refuse type keys the tenant has no type of (a typo would silently opt out of
        nothing), naming the first and listing all."""
        wanted = sorted(set(keys))
        if not wanted:
            return
        known = set(await self.type_keys(tenant.id))
        unknown = [key for key in wanted if key not in known]
        if unknown:
            where = f"{field}.{unknown[0]}" if field == "types" else field
            raise InvalidInput(
                f"{where}: the tenant has no notification type {unknown[0]!r}",
                details={"field": where, "unknown": unknown, "reason": "unknown type"},
            )

    def _now(self) -> int:
        return self.clock.now_ms()
