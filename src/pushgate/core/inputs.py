"""Validated inputs of the registry: what a caller may send to create or change things.

These pydantic models are the domain's own input contract; the API uses them as request
bodies, the CLI and bulk import build them from files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from pushgate.core.models import Platform, Provider, RateLimit, Scope

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Locale = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$")]
Topic = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.~%-]{1,256}$")]
Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:=-]{1,128}$")]
MAX_ATTRIBUTES_BYTES = 16 * 1024
# A rotated key works beside its successor for at most this long: long enough to roll a
# change out everywhere, short enough that "rotated" means "gone soon".
MAX_KEY_OVERLAP_SECONDS = 30 * 24 * 3600


def check_timezone(value: str | None) -> str | None:
    """An IANA zone name such as ``Europe/Berlin``."""
    if value is None:
        return None
    if len(value) > 64 or not re.fullmatch(r"[A-Za-z0-9_+/-]+", value):
        raise ValueError("not an IANA time zone name")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class TenantInput(Strict):
    name: Name


class KeyInput(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=4)]
    tenant: Name | None = Field(
        default=None, description="Tenant of the key; omitted means the caller's tenant."
    )
    instance_wide: bool = Field(
        default=False, description="An admin key for every tenant (instance admins only)."
    )
    expires_at: datetime | None = Field(
        default=None,
        description="When the key stops working (with a time zone offset); none: never.",
    )

    @field_validator("expires_at")
    @classmethod
    def _expiry_with_zone(cls, value: datetime | None) -> datetime | None:
        return aware(value, "expires_at")


class KeyRotation(Strict):
    overlap_seconds: int = Field(
        default=24 * 3600,
        ge=0,
        le=MAX_KEY_OVERLAP_SECONDS,
        description="How long the old key keeps working beside the new one (0: it stops now).",
    )
    expires_at: datetime | None = Field(
        default=None, description="When the new key stops working; none: never."
    )

    @field_validator("expires_at")
    @classmethod
    def _expiry_with_zone(cls, value: datetime | None) -> datetime | None:
        return aware(value, "expires_at")


# Bounds that keep a bucket's arithmetic exact in milliseconds and a Redis double.
MAX_PER_SECOND = 1_000_000.0
MAX_BURST = 1_000_000
MAX_DELIVERIES_PER_DAY = 10**12


class RateLimitInput(Strict):
    """A token bucket: ``per_second`` tokens a second, up to ``burst`` at once."""

    per_second: float = Field(gt=0, le=MAX_PER_SECOND, description="Sustained rate.")
    burst: int = Field(ge=1, le=MAX_BURST, description="Requests allowed at once.")

    def value(self) -> RateLimit:
        return RateLimit(self.per_second, self.burst)


def limit_value(given: RateLimitInput | None) -> RateLimit | None:
    return None if given is None else given.value()


class KeyPatch(Strict):
    """A change to a key; a field left out stays as it is, ``null`` clears it."""

    rate_limit: RateLimitInput | None = Field(
        default=None, description="Requests per second of this key; null: unlimited."
    )


def check_webhook_secret(value: str) -> str:
    """A ``whsec_`` signing secret (docs/providers.md §6.2). Imported when used: the
    credentials package loads every provider's rules, which the command line spares."""
    from pushgate.core.credentials.webhook import check_signing_secret

    return check_signing_secret(value)


WebhookSecret = Annotated[
    str, StringConstraints(max_length=128), AfterValidator(check_webhook_secret)
]


class OperationalWebhookInput(Strict):
    """Where a tenant's operational events are POSTed (docs/operations.md, "Operational
    events"); without ``secret`` one is generated and shown once."""

    url: str = Field(max_length=2048, description="An https URL.")
    secret: WebhookSecret | None = Field(
        default=None, repr=False, description="whsec_ and base64 of 24 to 64 bytes."
    )


class TenantPatch(Strict):
    """A change to a tenant; a field left out stays as it is, ``null`` clears a limit."""

    name: Name | None = Field(default=None, description="A new name.")
    rate_limit: RateLimitInput | None = Field(
        default=None, description="Requests per second of all the tenant's keys together."
    )
    send_rate_limit: RateLimitInput | None = Field(
        default=None, description="Sends (POST /v1/notifications) per second in the tenant."
    )
    deliveries_per_day: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DELIVERIES_PER_DAY,
        description="Devices targeted by the sends of a UTC day; null: unlimited.",
    )
    operational_webhook: OperationalWebhookInput | None = Field(
        default=None,
        description="Where the tenant's operational events are POSTed; null: nowhere. "
        "The tenant's own admin keys may set it.",
    )

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("a tenant's name cannot be cleared")
        return value

    def changes_limits(self) -> bool:
        return bool(self.model_fields_set & LIMIT_FIELDS)

    def changes_tenant(self) -> bool:
        """Whether anything but the operational webhook is set (instance admins only)."""
        return bool(self.model_fields_set - {"operational_webhook"})


LIMIT_FIELDS = frozenset({"rate_limit", "send_rate_limit", "deliveries_per_day"})


def aware(value: datetime | None, name: str) -> datetime | None:
    """A time given without a zone is ambiguous across the caller's and the server's."""
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} needs a time zone offset, e.g. 2027-01-31T00:00:00Z")
    return value


class AppInput(Strict):
    name: Name
    description: Annotated[str, StringConstraints(max_length=512)] = ""


NoticeText = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class ActionTextInput(Strict):
    """A push text sent after an answer to an action (docs/actions.md, "When an answer
    fails"): ``{title}`` becomes the notification's title, ``{reason}`` why the answer
    failed, ``{action}`` the action's key."""

    text: NoticeText
    locales: dict[Locale, NoticeText] = Field(default_factory=dict, max_length=100)


class AppUpdate(Strict):
    name: Name | None = None
    description: Annotated[str, StringConstraints(max_length=512)] | None = None
    user_auth_secret: Annotated[str, StringConstraints(min_length=32, max_length=512)] | None = (
        Field(
            default=None,
            description="HS256 secret the host system signs user tokens with (write-only).",
        )
    )
    clear_user_auth_secret: bool = False
    action_error_text: ActionTextInput | None = Field(
        default=None,
        description="The push a device gets when its answer to an action failed; "
        "default: the built-in English text.",
    )
    clear_action_error_text: bool = False
    action_confirm_text: ActionTextInput | None = Field(
        default=None,
        description="A push a device gets when its answer to an action succeeded; none unless set.",
    )
    clear_action_confirm_text: bool = False
    requires_type: bool | None = Field(
        default=None,
        description="Whether every send must name one of the app's notification types.",
    )
    relay: bool | None = Field(
        default=None,
        description="Whether origins (other instances) may send through this app (docs/relay.md).",
    )


class UserInput(Strict):
    locale: Locale | None = None
    timezone: str | None = None
    attributes: dict[str, Any] | None = Field(default=None, max_length=64)
    unit: Annotated[str, StringConstraints(pattern=NAME_PATTERN)] | None = Field(
        default=None, description="The key of the unit the user belongs to; null: none."
    )

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return check_timezone(value)

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            encoded = orjson.dumps(value)
        except orjson.JSONEncodeError as exc:
            # What JSON parsing lets in but no column can hold (integers beyond 64 bits).
            raise ValueError(f"cannot be stored as JSON: {exc}") from exc
        if len(encoded) > MAX_ATTRIBUTES_BYTES:
            raise ValueError(f"attributes exceed {MAX_ATTRIBUTES_BYTES} bytes as JSON")
        return value


class AliasInput(Strict):
    app: Name
    alias: ExternalId


class SubscriptionKeys(Strict):
    p256dh: Annotated[str, StringConstraints(min_length=80, max_length=100)]
    auth: Annotated[str, StringConstraints(min_length=16, max_length=32)]


class WebPushSubscription(Strict):
    """The browser's ``PushSubscription.toJSON()`` (W3C Push API)."""

    model_config = ConfigDict(extra="ignore")

    endpoint: Annotated[str, StringConstraints(min_length=10, max_length=2048)]
    keys: SubscriptionKeys
    expirationTime: int | None = None  # the browser's own field name


class DeviceInput(Strict):
    """Register or refresh one device of an app."""

    provider: Provider
    platform: Platform | None = Field(
        default=None, description="Defaults from the provider (apns→ios, fcm→android, …)."
    )
    token: Annotated[str, StringConstraints(max_length=2048)] | None = None
    subscription: WebPushSubscription | None = None
    old_token: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        default=None, description="The token this registration replaces; moves it."
    )
    user: ExternalId | None = Field(default=None, description="The user's external id.")
    user_alias: ExternalId | None = Field(default=None, description="The user's alias in the app.")
    locale: Locale | None = None
    timezone: str | None = None
    topics: Annotated[list[Topic], Field(max_length=200)] = []
    tags: Annotated[list[Tag], Field(max_length=100)] = []
    app_version: Annotated[str, StringConstraints(max_length=64)] | None = None

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return check_timezone(value)


# The stored device fields a registration may leave out, each with the input fields that set
# it. A re-registration or a token move keeps every field its request does not give; a field
# given as null clears it (the platform back to the provider's default), and a list is
# cleared with []. A new device takes the defaults.
KEPT_UNLESS_GIVEN: dict[str, frozenset[str]] = {
    "platform": frozenset({"platform"}),
    "user_id": frozenset({"user", "user_alias"}),
    "locale": frozenset({"locale"}),
    "timezone": frozenset({"timezone"}),
    "topics": frozenset({"topics"}),
    "tags": frozenset({"tags"}),
    "app_version": frozenset({"app_version"}),
}
KEEPABLE_INPUTS = frozenset().union(*KEPT_UNLESS_GIVEN.values())


def kept_fields(given: Iterable[str]) -> frozenset[str]:
    """The device fields a registration that gives the input fields ``given`` keeps."""
    return _kept_fields(KEEPABLE_INPUTS.intersection(given))


@cache
def _kept_fields(given: frozenset[str]) -> frozenset[str]:
    # At most 2^8 distinct sets, a handful in practice: cached, as the bulk import asks
    # once per row.
    return frozenset(
        field for field, inputs in KEPT_UNLESS_GIVEN.items() if given.isdisjoint(inputs)
    )


DEFAULT_PLATFORM = {
    Provider.APNS: Platform.IOS,
    Provider.FCM: Platform.ANDROID,
    Provider.WEBPUSH: Platform.WEB,
    Provider.WNS: Platform.WINDOWS,
    Provider.HMS: Platform.HUAWEI,
    Provider.WEBHOOK: Platform.SERVER,
}
