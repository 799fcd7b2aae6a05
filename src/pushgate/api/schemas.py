"""Response bodies, as published in ``/openapi.json``; built from domain values."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from pushgate.core.access import CreatedKey, RotatedKey
from pushgate.core.audit import AuditEvent
from pushgate.core.engagement import Engagement
from pushgate.core.models import ApiKey, App, Device, RateLimit, Tenant, User
from pushgate.core.operational_events import OperationalEvent
from pushgate.core.pending import PendingKind
from pushgate.core.registry import CredentialView

T = TypeVar("T")


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


class InstanceOut(BaseModel):
    instance_id: str
    instance_name: str
    version: str


class RateLimitOut(BaseModel):
    per_second: float = Field(description="Sustained rate.")
    burst: int = Field(description="Requests allowed at once.")

    @classmethod
    def of(cls, limit: RateLimit | None) -> RateLimitOut | None:
        return None if limit is None else cls(per_second=limit.per_second, burst=limit.burst)


class TenantOut(BaseModel):
    id: str
    name: str
    created_at: str | None
    rate_limit: RateLimitOut | None = Field(
        default=None, description="Requests per second of all its keys together; null: none."
    )
    send_rate_limit: RateLimitOut | None = Field(
        default=None, description="Sends per second; null: none."
    )
    deliveries_per_day: int | None = Field(
        default=None, description="Devices its sends may target in a UTC day; null: no limit."
    )

    @classmethod
    def of(cls, tenant: Tenant) -> TenantOut:
        return cls(
            id=tenant.id,
            name=tenant.name,
            created_at=iso(tenant.created_at),
            rate_limit=RateLimitOut.of(tenant.rate_limit),
            send_rate_limit=RateLimitOut.of(tenant.send_rate_limit),
            deliveries_per_day=tenant.deliveries_per_day,
        )


class KeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    tenant_id: str | None = Field(description="None for an instance-wide admin key.")
    scopes: list[str]
    created_at: str | None
    revoked_at: str | None
    expires_at: str | None = Field(description="When the key stops working; null: never.")
    last_used_at: str | None = Field(
        description="When the key last authenticated a request (to the minute); null: never."
    )
    rate_limit: RateLimitOut | None = Field(
        default=None, description="Requests per second of this key; null: no limit."
    )

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            tenant_id=key.tenant_id,
            scopes=sorted(s.value for s in key.scopes),
            created_at=iso(key.created_at),
            revoked_at=iso(key.revoked_at),
            expires_at=iso(key.expires_at),
            last_used_at=iso(key.last_used_at),
            rate_limit=RateLimitOut.of(key.rate_limit),
        )


class KeyCreatedOut(KeyOut):
    key: str = Field(description="The API key itself. Shown only in this answer.")

    @classmethod
    def created(cls, made: CreatedKey) -> KeyCreatedOut:
        return cls(**KeyOut.of(made.key).model_dump(), key=made.plaintext)


class KeyRotatedOut(KeyCreatedOut):
    previous: KeyOut = Field(
        description="The rotated key: it keeps working until its `expires_at`."
    )

    @classmethod
    def rotated(cls, made: RotatedKey) -> KeyRotatedOut:
        return cls(
            **KeyCreatedOut.created(made.created).model_dump(), previous=KeyOut.of(made.previous)
        )


class AppOut(BaseModel):
    id: str
    name: str
    description: str
    user_auth: bool = Field(description="Whether device registration needs a user token.")
    requires_type: bool = Field(
        default=False, description="Whether every send must name a notification type."
    )
    relay: bool = Field(
        default=False, description="Whether origins may send through this app (docs/relay.md)."
    )
    action_error_text: dict[str, Any] | None = Field(
        default=None,
        description="`{text, locales}` pushed when an answer to an action failed; "
        "null: the built-in text.",
    )
    action_confirm_text: dict[str, Any] | None = Field(
        default=None, description="`{text, locales}` pushed when an answer succeeded; null: none."
    )
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, app: App) -> AppOut:
        error, confirm = app.action_error_text, app.action_confirm_text
        return cls(
            id=app.id,
            name=app.name,
            action_error_text=None if error is None else error.as_json(),
            action_confirm_text=None if confirm is None else confirm.as_json(),
            description=app.description,
            user_auth=app.has_user_auth,
            requires_type=app.requires_type,
            relay=app.relay,
            created_at=iso(app.created_at),
            updated_at=iso(app.updated_at),
        )


class CredentialOut(BaseModel):
    kind: str
    fields_set: list[str]
    values: dict[str, Any]
    fingerprints: dict[str, str]
    updated_at: str | None
    generated: dict[str, str] = Field(
        default_factory=dict,
        description="Secrets made on request (VAPID key, signing secret); shown only once.",
    )
    paused_reason: str | None = Field(
        default=None,
        description="Why sending is paused: the provider refused these credentials. "
        "Setting them again resumes sending.",
    )
    paused_at: str | None = None

    @classmethod
    def of(cls, item: CredentialView) -> CredentialOut:
        return cls(
            kind=item.kind,
            fields_set=list(item.view["fields_set"]),  # type: ignore[call-overload]
            values=dict(item.view["values"]),  # type: ignore[call-overload]
            fingerprints=dict(item.view["fingerprints"]),  # type: ignore[call-overload]
            updated_at=iso(item.updated_at),
            generated=item.generated,
            paused_reason=item.paused_reason,
            paused_at=iso(item.paused_at),
        )


class UserOut(BaseModel):
    id: str
    external_id: str
    locale: str | None
    timezone: str | None
    attributes: dict[str, Any]
    unit: str | None = Field(default=None, description="The key of the user's unit.")
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            external_id=user.external_id,
            locale=user.locale,
            timezone=user.timezone,
            attributes=user.attributes,
            unit=user.unit,
            created_at=iso(user.created_at),
            updated_at=iso(user.updated_at),
        )


class AliasOut(BaseModel):
    app: str
    alias: str


class VapidKeyOut(BaseModel):
    app: str
    application_server_key: str = Field(
        description="The VAPID public key (RFC 8292 §3.2), base64url of the uncompressed "
        "P-256 point: `pushManager.subscribe`'s `applicationServerKey`."
    )


class DeviceOut(BaseModel):
    id: str
    app_id: str
    provider: str
    platform: str
    token: str
    keys: dict[str, str] | None
    user_id: str | None
    locale: str | None
    timezone: str | None
    topics: list[str]
    tags: list[str]
    app_version: str | None
    state: str
    state_reason: str | None
    state_changed_at: str | None
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, device: Device) -> DeviceOut:
        return cls(
            id=device.id,
            app_id=device.app_id,
            provider=device.provider.value,
            platform=device.platform.value,
            token=device.token,
            keys=device.keys,
            user_id=device.user_id,
            locale=device.locale,
            timezone=device.timezone,
            topics=device.topics,
            tags=device.tags,
            app_version=device.app_version,
            state=device.state.value,
            state_reason=device.state_reason,
            state_changed_at=iso(device.state_changed_at),
            created_at=iso(device.created_at),
            updated_at=iso(device.updated_at),
        )


class TokenChangeOut(BaseModel):
    old_token: str
    new_token: str
    changed_at: str | None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = Field(description="Pass as `after` to read the next page; null at the end.")


class AuditEventOut(BaseModel):
    id: str
    at: str | None
    tenant_id: str | None = Field(description="None for events of the instance itself.")
    key_id: str = Field(description="The API key that acted (`cli` for the command line).")
    key_name: str
    origin: str = Field(description="The client's address, or `cli`.")
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventOut:
        return cls(
            id=event.id,
            at=iso(event.at),
            tenant_id=event.tenant_id,
            key_id=event.key_id,
            key_name=event.key_name,
            origin=event.origin,
            action=event.action.value,
            object_type=event.action.object_type,
            object_id=event.object_id,
            details=dict(event.details),
        )


class SubjectOut(BaseModel):
    type: str = Field(description="app, notification, job or response.")
    id: str


class OperationalEventOut(BaseModel):
    id: str
    at: str | None
    kind: str = Field(description="credentials.paused, job.dead_lettered, ...")
    tenant_id: str | None = Field(description="None for events of the instance itself.")
    app_id: str | None
    subject: SubjectOut
    details: dict[str, Any]

    @classmethod
    def of(cls, event: OperationalEvent) -> OperationalEventOut:
        return cls(
            id=event.id,
            at=iso(event.at),
            kind=event.kind.value,
            tenant_id=event.tenant_id,
            app_id=event.app_id,
            subject=SubjectOut(type=event.subject_type.value, id=event.subject_id),
            details=dict(event.details),
        )


class OperationalWebhookOut(BaseModel):
    url: str
    secret: str | None = Field(
        default=None, description="The generated signing secret: shown in this answer only."
    )


class TenantUpdatedOut(TenantOut):
    operational_webhook: OperationalWebhookOut | None = Field(
        default=None, description="Where the tenant's operational events are POSTed."
    )


class HealthOut(BaseModel):
    status: str
    detail: str = ""


class ReadyOut(HealthOut):
    checks: dict[str, str] = Field(
        description="Each dependency (`database`, `queue`) and its state: `ok` or why not."
    )


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable snake_case code of the error.")
    message: str
    details: dict[str, Any] = Field(description="Facts about the error; `field` names a bad field.")


class ErrorOut(BaseModel):
    """The one shape of every error answer."""

    error: ErrorDetail


class NotificationAccepted(BaseModel):
    id: str
    state: str
    targeted: int = Field(description="Active devices the audience named when accepted.")
    created: bool = Field(description="False when an earlier request with the same key answered.")
    unknown: list[str] = Field(
        default_factory=list,
        description="Named users, aliases or topics that reach nobody (first 100).",
    )
    send_at: str | None
    expires_at: str | None


class PendingOut(BaseModel):
    """Deliveries still pending for one reason."""

    kind: PendingKind = Field(
        description="`scheduled`: the notification waits for its `send_at`; "
        "`waiting_for_fanout`: devices of the audience not yet given a delivery; "
        "`credentials_paused`: the app's credentials for `provider` were refused "
        '(`reason`); `retrying`: the provider answered "try again" (`reason`, earliest '
        "`next_attempt_at`); `deferred`: held for the recipient's quiet hours or local "
        "time (`reason` `quiet_hours` or `local_time`, earliest `next_attempt_at`); "
        "`queued`: not yet attempted, waiting for a worker; "
        "`not_examined`: pending, beyond the first 10,000 pending deliveries looked at."
    )
    count: int
    provider: str | None = None
    reason: str | None = None
    next_attempt_at: str | None = None


class EngagementOut(BaseModel):
    """What devices reported of a notification's pushes (docs/reports.md), kept as they
    report it: reading it costs a few rows, whatever the number of deliveries."""

    received: int
    opened: int
    dismissed: int
    actioned: int = Field(description="Action taps, all actions together.")
    actions: dict[str, int] = Field(description="Action taps by action key.")
    received_rate: float | None = Field(description="received / sent; null before any is sent.")
    open_rate: float | None = Field(description="opened / sent; null before any is sent.")
    action_rate: float | None = Field(description="actioned / sent; null before any is sent.")
    median_seconds_to_open: int | None = Field(
        description="From when the notification was due to its opens' median, to within "
        "the histogram bucket it falls in (a minute in the first hour, 15 minutes up to a "
        "day, a day after); null before any open."
    )

    @classmethod
    def of(cls, found: Engagement, sent: int) -> EngagementOut:
        return cls(
            received=found.received,
            opened=found.opened,
            dismissed=found.dismissed,
            actioned=found.actioned,
            actions=found.actions,
            received_rate=found.rate(found.received, sent),
            open_rate=found.rate(found.opened, sent),
            action_rate=found.rate(found.actioned, sent),
            median_seconds_to_open=found.median_seconds_to_open,
        )


class NotificationOut(BaseModel):
    id: str
    app_id: str
    state: str
    targeted: int
    fanout_done: bool
    records: str = Field(
        description="`all`: a row per delivery; `failures`: counts, and rows only for "
        "deliveries that did not go out (the deliveries listing shows only those)."
    )
    type: str | None = Field(description="The notification type it was sent as; null: ad hoc.")
    audience: dict[str, Any]
    content: dict[str, Any]
    idempotency_key: str | None
    send_at: str | None
    expires_at: str | None
    created_at: str | None
    updated_at: str | None
    deliveries: dict[str, int] = Field(description="Delivery counts by state.")
    by_provider: dict[str, dict[str, int]] = Field(description="Counts by provider and state.")
    suppressed: dict[str, int] = Field(
        default_factory=dict,
        description="Deliveries not sent, by reason: `type_disabled` (the type is off "
        "globally or by default), `unit_disabled` (off at the recipient's unit).",
    )
    responses: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Answers to its actions by action key and state (one notification's "
        "status only; empty in listings).",
    )
    pending: list[PendingOut] | None = Field(
        default=None,
        description="Why deliveries are still pending, with counts (one notification's "
        'status only; null in listings). See docs/operations.md, "Why deliveries are '
        'pending".',
    )
    interactions: EngagementOut | None = Field(
        default=None,
        description="What devices reported: received, opened, dismissed, actions, rates "
        "and the median time to open (one notification's status only; null in listings).",
    )


class DeliveryOut(BaseModel):
    id: str
    device_id: str
    provider: str
    state: str
    attempts: int
    next_attempt_at: str | None
    reason: str | None
    status: int | None
    provider_message_id: str | None
    updated_at: str | None
