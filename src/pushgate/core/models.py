"""Domain values of the registry: tenants, keys, apps, users and devices."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class Scope(StrEnum):
    """What an API key may do (docs/architecture.md §6)."""

    ADMIN = "admin"
    SEND = "send"
    DEVICES_REGISTER = "devices:register"
    RELAY = "relay"


class Provider(StrEnum):
    APNS = "apns"
    FCM = "fcm"
    WEBPUSH = "webpush"
    WNS = "wns"
    HMS = "hms"
    WEBHOOK = "webhook"


class Platform(StrEnum):
    IOS = "ios"
    ANDROID = "android"
    WEB = "web"
    WINDOWS = "windows"
    HUAWEI = "huawei"
    MACOS = "macos"
    SERVER = "server"


class DeviceState(StrEnum):
    ACTIVE = "active"
    INVALID = "invalid"
    UNREGISTERED = "unregistered"


DEFAULT_TENANT = "default"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket: ``per_second`` tokens refill each second, up to ``burst`` held."""

    per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    created_at: int
    #: Requests per second of all the tenant's keys together; None: unlimited.
    rate_limit: RateLimit | None = None
    #: Sends (``POST /v1/notifications``) per second in the tenant; None: unlimited.
    send_rate_limit: RateLimit | None = None
    #: Devices targeted by the sends accepted in a UTC day; None: unlimited.
    deliveries_per_day: int | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key: only its hash is kept; ``tenant_id`` None means instance-wide."""

    id: str
    tenant_id: str | None
    name: str
    prefix: str
    secret_hash: str
    scopes: frozenset[Scope]
    created_at: int
    revoked_at: int | None = None
    expires_at: int | None = None
    last_used_at: int | None = None
    #: Requests per second of this key; None: unlimited.
    rate_limit: RateLimit | None = None

    @property
    def is_instance_admin(self) -> bool:
        return self.tenant_id is None and Scope.ADMIN in self.scopes

    def expired(self, now: int) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True, slots=True)
class App:
    id: str
    tenant_id: str
    name: str
    description: str
    has_user_auth: bool
    created_at: int
    updated_at: int
    # The pushes a device gets after its answer to an action failed or, when set,
    # succeeded (core/action_notices.py); None: the built-in text, and no confirmation.
    action_error_text: LocalizedText | None = None
    action_confirm_text: LocalizedText | None = None
    # Whether a send must name one of the app's notification types (docs/types.md).
    requires_type: bool = False
    # Whether other instances may send through this app (docs/relay.md).
    relay: bool = False


@dataclass(frozen=True, slots=True)
class LocalizedText:
    """A text with variants by locale (a device gets the variant of its locale)."""

    text: str
    locales: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "locales": dict(self.locales)}

    @classmethod
    def of_json(cls, stored: dict[str, Any] | None) -> LocalizedText | None:
        if stored is None:
            return None
        return cls(str(stored["text"]), {str(k): str(v) for k, v in stored["locales"].items()})


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """A provider credential as stored: public fields, fingerprints, sealed secrets."""

    app_id: str
    kind: str
    public: dict[str, Any]
    fingerprints: dict[str, str]
    sealed: bytes
    updated_at: int
    paused_at: int | None = None
    paused_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Sealed:
    """One value sealed with the instance key, and whose it is: an app's credentials of a
    provider kind, the app's user-auth secret (``owner`` ``user_auth``), or the signing
    secret of one of its actions' webhook handlers (``owner`` ``action:<id>``)."""

    USER_AUTH: ClassVar[str] = "user_auth"
    ACTION: ClassVar[str] = "action:"
    #: A tenant's operational webhook secret; ``app_id`` then holds the tenant's id.
    OPERATIONAL_WEBHOOK: ClassVar[str] = "operational_webhook"
    #: A tenant's secret setting (``setting:<name>``); ``app_id`` holds the tenant's id.
    SETTING: ClassVar[str] = "setting:"
    #: An inbound source's verification (``source:<id>``); ``app_id`` holds the tenant's id.
    SOURCE: ClassVar[str] = "source:"

    app_id: str
    owner: str
    sealed: bytes = field(repr=False)

    @property
    def aad(self) -> bytes:
        return sealed_for(self.app_id, self.owner)

    @property
    def is_credential(self) -> bool:
        """Provider credentials, which have fingerprints beside them."""
        return self.owner not in (
            self.USER_AUTH,
            self.OPERATIONAL_WEBHOOK,
        ) and not self.owner.startswith((self.ACTION, self.SETTING, self.SOURCE))

    @property
    def setting_name(self) -> str | None:
        return (
            self.owner.removeprefix(self.SETTING) if self.owner.startswith(self.SETTING) else None
        )

    @property
    def source_id(self) -> str | None:
        return self.owner.removeprefix(self.SOURCE) if self.owner.startswith(self.SOURCE) else None

    @property
    def action_id(self) -> str | None:
        return self.owner.removeprefix(self.ACTION) if self.owner.startswith(self.ACTION) else None


def action_owner(action_id: str) -> str:
    """The ``Sealed.owner`` of an action's webhook secret: its AAD is then
    ``app:<app id>:action:<action id>``, so it opens for no other action or app."""
    return Sealed.ACTION + action_id


def sealed_for(app_id: str, owner: str) -> bytes:
    """What a value is sealed for (``SecretBox`` AAD): a sealed value copied to another
    app, or from credentials of one kind to another, does not open."""
    return f"app:{app_id}:{owner}".encode()


@dataclass(frozen=True, slots=True)
class User:
    id: str
    tenant_id: str
    external_id: str
    locale: str | None
    timezone: str | None
    attributes: dict[str, Any]
    created_at: int
    updated_at: int
    #: The key of the unit the user belongs to (docs/settings.md); None: none.
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    tenant_id: str
    app_id: str
    provider: Provider
    token: str
    keys: dict[str, str] | None
    platform: Platform
    user_id: str | None
    locale: str | None
    timezone: str | None
    topics: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    app_version: str | None = None
    state: DeviceState = DeviceState.ACTIVE
    state_reason: str | None = None
    state_changed_at: int = 0
    created_at: int = 0
    updated_at: int = 0


@dataclass(frozen=True, slots=True)
class TokenChange:
    old_token: str
    new_token: str
    changed_at: int
