"""The registry: apps and their credentials, users and aliases, devices.

Every method takes the authenticated :class:`~pushgate.core.access.Caller` and the tenant
it acts in, checks scopes, validates, and calls storage through the ports.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import jwt

from pushgate.core import tokens
from pushgate.core.access import Caller
from pushgate.core.audit import AuditAction, AuditLog
from pushgate.core.credentials import describe
from pushgate.core.credentials.offloop import validate_off_loop
from pushgate.core.credentials.overrides import check_overrides
from pushgate.core.ids import new_id, now_ms
from pushgate.core.inputs import (
    DEFAULT_PLATFORM,
    AppInput,
    AppUpdate,
    DeviceInput,
    UserInput,
    kept_fields,
)
from pushgate.core.models import (
    App,
    Device,
    DeviceState,
    Platform,
    Provider,
    Scope,
    Sealed,
    StoredCredential,
    Tenant,
    User,
    sealed_for,
)
from pushgate.core.ports import AccountStorePort, PeopleStorePort
from pushgate.core.secretbox import SecretBox
from pushgate.core.ttlcache import TtlCache
from pushgate.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

MAX_PAGE = 500
# The attribute names users may be looked up by (quoted into a JSON path on SQLite).
ATTRIBUTE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_USER_TOKEN_MAX_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class CredentialView:
    kind: str
    view: dict[str, object]
    updated_at: int
    generated: dict[str, str]
    # Set when the provider refused the credentials; sending waits until they are replaced.
    paused_reason: str | None = None
    paused_at: int | None = None


@dataclass(frozen=True, slots=True)
class Registration:
    device: Device
    created: bool


class Registry:
    """Apps, credentials, users, aliases and devices of one instance."""

    def __init__(
        self,
        accounts: AccountStorePort,
        people: PeopleStorePort,
        box: SecretBox,
        *,
        audit: AuditLog,
        allow_private_targets: bool,
        cache_seconds: float = 5.0,
        user_token_max_seconds: int = DEFAULT_USER_TOKEN_MAX_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.accounts = accounts
        self.people = people
        self.box = box
        self.audit = audit
        self.allow_private_targets = allow_private_targets
        self.user_token_max_seconds = user_token_max_seconds
        self.clock = clock
        self.apps: TtlCache[tuple[str, str], App] = TtlCache(cache_seconds)

    # -- apps ---------------------------------------------------------------------------
    async def create_app(self, caller: Caller, tenant: Tenant, data: AppInput) -> App:
        caller.require(Scope.ADMIN)
        at = now_ms()
        app = App(new_id(), tenant.id, data.name, data.description, False, at, at)
        await self.accounts.insert_app(app)
        self.apps.invalidate((tenant.id, app.name))
        await self.audit.record(caller, AuditAction.APP_CREATE, app.id, tenant.id, name=app.name)
        return app

    async def app(self, tenant: Tenant, name: str) -> App:
        found = await self.apps.get(
            (tenant.id, name), lambda: self.accounts.app_by_name(tenant.id, name)
        )
        if found is None:
            raise NotFound(f"app {name!r} not found", details={"app": name})
        return found

    async def read_app(self, caller: Caller, tenant: Tenant, name: str) -> App:
        caller.require(Scope.ADMIN, Scope.SEND)
        return await self.app(tenant, name)

    async def list_apps(self, caller: Caller, tenant: Tenant) -> list[App]:
        caller.require(Scope.ADMIN, Scope.SEND)
        return await self.accounts.list_apps(tenant.id)

    async def update_app(self, caller: Caller, tenant: Tenant, name: str, data: AppUpdate) -> App:
        caller.require(Scope.ADMIN)
        app = await self.app(tenant, name)
        values: dict[str, Any] = {"updated_at": now_ms()}
        if data.name is not None:
            values["name"] = data.name
        if data.description is not None:
            values["description"] = data.description
        if data.user_auth_secret is not None:
            aad = sealed_for(app.id, Sealed.USER_AUTH)
            values["user_auth_secret"] = self.box.seal(data.user_auth_secret.encode(), aad)
        elif data.clear_user_auth_secret:
            values["user_auth_secret"] = None
        values.update(_action_texts(data))
        if data.requires_type is not None:
            values["requires_type"] = data.requires_type
        if data.relay is not None:
            values["relay"] = data.relay
        await self.accounts.update_app(app.id, values)
        self.apps.invalidate()
        # The names of what changed, never the user-auth secret itself.
        changed = sorted(set(values) - {"updated_at"})
        await self.audit.record(
            caller, AuditAction.APP_UPDATE, app.id, tenant.id, name=app.name, changed=changed
        )
        return await self.app(tenant, values.get("name", name))

    async def delete_app(self, caller: Caller, tenant: Tenant, name: str) -> None:
        caller.require(Scope.ADMIN)
        app = await self.app(tenant, name)
        await self.accounts.delete_app(app.id)
        self.apps.invalidate()
        await self.audit.record(caller, AuditAction.APP_DELETE, app.id, tenant.id, name=app.name)

    # -- credentials --------------------------------------------------------------------
    async def set_credentials(
        self, caller: Caller, tenant: Tenant, name: str, kind: str, raw: dict[str, Any]
    ) -> CredentialView:
        caller.require(Scope.ADMIN)
        app = await self.app(tenant, name)
        # Keys and certificates are parsed in a child process with a time limit, never
        # on the event loop (core/credentials/offloop.py).
        validated = await validate_off_loop(
            kind, raw, allow_insecure_targets=self.allow_private_targets
        )
        check_overrides(
            validated.kind,
            validated.public,
            instance_admin=caller.key.is_instance_admin,
            allow_private=self.allow_private_targets,
        )
        fingerprints = validated.secret_fingerprints(self.box.fingerprint)
        stored = StoredCredential(
            app.id,
            validated.kind,
            dict(validated.public),
            fingerprints,
            self.box.seal(validated.secret_bytes(), sealed_for(app.id, validated.kind)),
            now_ms(),
        )
        await self.accounts.put_credential(stored)
        await self.audit.record(
            caller,
            AuditAction.CREDENTIALS_SET,
            app.id,
            tenant.id,
            app=app.name,
            kind=validated.kind,
            fields=sorted({*validated.public, *validated.secret}),
            fingerprints=fingerprints,
        )
        view = describe(validated.public, fingerprints)
        return CredentialView(validated.kind, view, stored.updated_at, dict(validated.generated))

    async def list_credentials(
        self, caller: Caller, tenant: Tenant, name: str
    ) -> list[CredentialView]:
        caller.require(Scope.ADMIN)
        app = await self.app(tenant, name)
        return [
            CredentialView(
                c.kind,
                describe(c.public, c.fingerprints),
                c.updated_at,
                {},
                c.paused_reason if c.paused_at else None,
                c.paused_at,
            )
            for c in await self.accounts.list_credentials(app.id)
        ]

    async def webpush_public_key(self, caller: Caller, tenant: Tenant, name: str) -> str:
        """The app's VAPID public key (RFC 8292 §3.2), as ``pushManager.subscribe`` takes
        it for ``applicationServerKey``: a web page registering a browser needs it, so a
        ``devices:register`` key reads it (docs/clients.md). Public by nature; nothing
        secret is looked at."""
        caller.require(Scope.ADMIN, Scope.SEND, Scope.DEVICES_REGISTER)
        app = await self.app(tenant, name)
        for stored in await self.accounts.list_credentials(app.id):
            if stored.kind == Provider.WEBPUSH.value:
                return str(stored.public["application_server_key"])
        raise NotFound(
            f"app {name!r} has no webpush credentials", details={"app": name, "kind": "webpush"}
        )

    async def delete_credentials(
        self, caller: Caller, tenant: Tenant, name: str, kind: str
    ) -> None:
        caller.require(Scope.ADMIN)
        app = await self.app(tenant, name)
        if not await self.accounts.delete_credential(app.id, kind):
            raise NotFound(f"app {name!r} has no {kind} credentials", details={"kind": kind})
        await self.audit.record(
            caller, AuditAction.CREDENTIALS_DELETE, app.id, tenant.id, app=app.name, kind=kind
        )

    # -- users --------------------------------------------------------------------------
    async def upsert_user(
        self, caller: Caller, tenant: Tenant, external_id: str, data: UserInput
    ) -> tuple[User, bool]:
        caller.require(Scope.ADMIN, Scope.SEND)
        at = now_ms()
        user = User(
            new_id(),
            tenant.id,
            external_id,
            data.locale,
            data.timezone,
            data.attributes or {},
            at,
            at,
            data.unit,
        )
        found = await self.people.upsert_user(user, fields=sorted(data.model_fields_set))
        if "unit" in data.model_fields_set:
            await self.audit.record(
                caller,
                AuditAction.USER_SET_UNIT,
                found[0].id,
                tenant.id,
                user=external_id,
                unit=data.unit,
            )
        return found

    async def user(self, caller: Caller, tenant: Tenant, external_id: str) -> User:
        caller.require(Scope.ADMIN, Scope.SEND)
        found = await self.people.user_by_external_id(tenant.id, external_id)
        if found is None:
            raise NotFound(f"user {external_id!r} not found", details={"user": external_id})
        return found

    async def list_users(
        self,
        caller: Caller,
        tenant: Tenant,
        after: str | None,
        limit: int,
        attributes: Mapping[str, str] | None = None,
    ) -> list[User]:
        """A page of users; with ``attributes``, those whose attributes hold each of
        them exactly (a host system's contact id, e-mail or phone number, say)."""
        caller.require(Scope.ADMIN, Scope.SEND)
        for key, value in (attributes or {}).items():
            if not ATTRIBUTE_KEY.fullmatch(key) or len(value) > 256:
                raise InvalidInput(
                    f"attribute {key!r}: a name of 1 to 64 letters, digits, _ or -, "
                    "and a value of at most 256 characters",
                    details={"field": f"attribute.{key}"},
                )
        return await self.people.list_users(tenant.id, after, min(limit, MAX_PAGE), attributes)

    async def delete_user(self, caller: Caller, tenant: Tenant, external_id: str) -> None:
        user = await self.user(caller, tenant, external_id)
        await self.people.delete_user(user.id, now_ms())

    async def set_alias(
        self, caller: Caller, tenant: Tenant, external_id: str, app_name: str, alias: str
    ) -> None:
        user = await self.user(caller, tenant, external_id)
        app = await self.app(tenant, app_name)
        await self.people.set_alias(app.id, alias, user.id)

    async def delete_alias(
        self, caller: Caller, tenant: Tenant, external_id: str, app_name: str, alias: str
    ) -> None:
        user = await self.user(caller, tenant, external_id)
        app = await self.app(tenant, app_name)
        owner = await self.people.user_by_alias(app.id, alias)
        if (
            owner is None
            or owner.id != user.id
            or not await self.people.delete_alias(app.id, alias)
        ):
            raise NotFound(f"alias {alias!r} not found", details={"alias": alias})

    async def aliases(
        self, caller: Caller, tenant: Tenant, external_id: str
    ) -> list[dict[str, str]]:
        user = await self.user(caller, tenant, external_id)
        names = {a.id: a.name for a in await self.accounts.list_apps(tenant.id)}
        return [
            {"app": names.get(app_id, app_id), "alias": alias}
            for app_id, alias in await self.people.aliases_of(user.id)
        ]

    async def resolve_alias(self, app: App, alias: str) -> User:
        found = await self.people.user_by_alias(app.id, alias)
        if found is None:
            raise NotFound(
                f"alias {alias!r} not found in app {app.name!r}", details={"alias": alias}
            )
        return found

    # -- devices --------------------------------------------------------------------------
    async def register_device(
        self,
        caller: Caller,
        tenant: Tenant,
        app_name: str,
        data: DeviceInput,
        user_token: str | None = None,
    ) -> Registration:
        caller.require(Scope.DEVICES_REGISTER)
        app = await self.app(tenant, app_name)
        device = self.build_device(tenant, app, data)
        if data.user and data.user_alias:
            raise InvalidInput("give user or user_alias, not both", details={"field": "user"})
        alias_user = await self.resolve_alias(app, data.user_alias) if data.user_alias else None
        external_id = alias_user.external_id if alias_user else data.user
        subject = None
        if app.has_user_auth and is_device_client(caller):
            subject = await self._verify_user_token(app.id, user_token)
            if subject is not None and external_id != subject:
                raise Forbidden(
                    "the user token does not belong to the device's user",
                    details={"user": external_id},
                )
        if alias_user is not None:
            device = replace(device, user_id=alias_user.id)
        old = self._normalised_old_token(data.provider, data.old_token) if data.old_token else None
        saved, created = await self.people.save_device(
            device,
            user_external_id=None if alias_user else data.user,
            old_token=old,
            kept=kept_fields(data.model_fields_set),
            # A device client proved one user: it may not take over another user's
            # registration by naming its token as the old one (docs/architecture.md §6).
            same_user_only=subject is not None,
        )
        return Registration(saved, created)

    def build_device(self, tenant: Tenant, app: App, data: DeviceInput) -> Device:
        """A fresh, active device value from validated input (no storage access)."""
        keys: dict[str, str] | None = None
        insecure = self.allow_private_targets
        if data.provider is Provider.WEBPUSH:
            if data.subscription is None:
                raise InvalidInput(
                    "subscription: a Web Push device needs the browser's subscription",
                    details={"field": "subscription"},
                )
            token = tokens.check_url(
                "subscription.endpoint", data.subscription.endpoint, allow_insecure=insecure
            )
            sub_keys = data.subscription.keys
            keys = tokens.check_webpush_keys(sub_keys.p256dh, sub_keys.auth)
        else:
            token = tokens.normalise_token(data.provider, data.token or "", allow_insecure=insecure)
        return new_device(
            tenant.id,
            app.id,
            data.provider,
            token,
            keys,
            data.platform,
            data.locale,
            data.timezone,
            data.topics,
            data.tags,
            data.app_version,
        )

    def _normalised_old_token(self, provider: Provider, token: str) -> str:
        # Stored APNs tokens are lower-case hex (core/tokens.py); others are kept as given.
        return token.lower() if provider is Provider.APNS else token

    async def user_of_token(self, app_id: str, user_token: str | None) -> str | None:
        """The external id a user token proves for the app (401 when missing or bad);
        None when the app has no user-auth secret, so no user can be proven."""
        return await self._verify_user_token(app_id, user_token)

    async def _verify_user_token(self, app_id: str, user_token: str | None) -> str | None:
        """Check the host system's HS256 user token; returns its ``sub`` (external id).

        The token must carry ``exp`` and live at most ``user_token_max_seconds``, counted
        from ``iat`` when it has one and from now in any case, so a leaked token is good
        for a bounded time (RFC 7519 §4.1.4, §4.1.6). None means the app no longer
        requires one (its secret was cleared meanwhile)."""
        sealed = await self.accounts.app_user_secret(app_id)
        if sealed is None:
            return None
        if not user_token:
            raise Unauthenticated(
                "this app requires a user token (Pushgate-User-Token header)",
                details={"header": "Pushgate-User-Token"},
            )
        secret = self.box.open(sealed, sealed_for(app_id, Sealed.USER_AUTH))
        try:
            claims = jwt.decode(
                user_token, secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"user token rejected: {exc}") from exc
        self._check_lifetime(claims)
        return str(claims["sub"])

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        expires = claims["exp"]  # a number: PyJWT refuses a token whose exp is not
        issued = claims.get("iat")
        start = issued if isinstance(issued, int | float) else None
        longest = max(expires - self.clock(), expires - start if start is not None else 0)
        if longest > self.user_token_max_seconds:
            raise Unauthenticated(
                f"user token rejected: it lives longer than {self.user_token_max_seconds} s",
                details={
                    "header": "Pushgate-User-Token",
                    "max_seconds": self.user_token_max_seconds,
                },
            )

    async def device(
        self, caller: Caller, tenant: Tenant, device_id: str, user_token: str | None = None
    ) -> Device:
        """A device by id. A device client (a key without the send or admin scope) sees a
        device of an app with a user-auth secret only with a user token naming the
        device's user; any other device of such an app is not found to it."""
        caller.require(Scope.ADMIN, Scope.SEND, Scope.DEVICES_REGISTER)
        found = await self.people.device_by_id(tenant.id, device_id)
        if found is not None and is_device_client(caller):
            subject = await self._verify_user_token(found.app_id, user_token)
            if subject is not None and not await self._belongs_to(found, subject):
                found = None
        if found is None:
            raise NotFound(f"device {device_id!r} not found", details={"device": device_id})
        return found

    async def is_users_device(
        self, tenant_id: str, app_id: str, device_id: str, external_id: str
    ) -> bool:
        """Whether the device exists, is of the app and is registered to the user."""
        found = await self.people.device_by_id(tenant_id, device_id)
        return (
            found is not None
            and found.app_id == app_id
            and await self._belongs_to(found, external_id)
        )

    async def _belongs_to(self, device: Device, external_id: str) -> bool:
        if device.user_id is None:
            return False
        owner = await self.people.user_by_id(device.user_id)
        return owner is not None and owner.external_id == external_id

    async def list_devices(
        self,
        caller: Caller,
        tenant: Tenant,
        filters: dict[str, str],
        after: str | None,
        limit: int,
    ) -> list[Device]:
        caller.require(Scope.ADMIN, Scope.SEND)
        return await self.people.list_devices(tenant.id, filters, after, min(limit, MAX_PAGE))

    async def unregister_device(
        self, caller: Caller, tenant: Tenant, device_id: str, user_token: str | None = None
    ) -> Device:
        device = await self.device(caller, tenant, device_id, user_token)
        await self.people.set_device_state(
            device.id, DeviceState.UNREGISTERED, "unregistered by the client", now_ms()
        )
        found = await self.people.device_by_id(tenant.id, device_id)
        if found is None:  # deleted meanwhile (its app or tenant went away)
            raise NotFound(f"device {device_id!r} not found", details={"device": device_id})
        return found


def is_device_client(caller: Caller) -> bool:
    """A key that registers devices from the devices themselves (an app's build carries
    it), as opposed to the host system's server-side keys with send or admin."""
    return not caller.may(Scope.SEND)


def new_device(
    tenant_id: str,
    app_id: str,
    provider: Provider,
    token: str,
    keys: dict[str, str] | None,
    platform: Platform | None,
    locale: str | None,
    timezone: str | None,
    topics: list[str],
    tags: list[str],
    app_version: str | None,
) -> Device:
    """A fresh, active device from checked values; the platform defaults by provider."""
    at = now_ms()
    # Positional: the frozen dataclass's keyword call costs twice as much, which shows
    # in bulk imports.
    return Device(
        new_id(),
        tenant_id,
        app_id,
        provider,
        token,
        keys,
        platform or DEFAULT_PLATFORM[provider],
        None,
        locale,
        timezone,
        sorted(set(topics)),
        sorted(set(tags)),
        app_version,
        DeviceState.ACTIVE,
        None,
        at,
        at,
        at,
    )


def _action_texts(data: AppUpdate) -> dict[str, Any]:
    """The columns of the app's action texts an update sets or clears."""
    values: dict[str, Any] = {}
    for name in ("action_error_text", "action_confirm_text"):
        given = getattr(data, name)
        if given is not None:
            values[name] = {"text": given.text, "locales": dict(given.locales)}
        elif getattr(data, f"clear_{name}"):
            values[name] = None
    return values
