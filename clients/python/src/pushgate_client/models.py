"""The shapes of what the client sends and reads, as typed dictionaries.

They mirror the components of pushgate's OpenAPI document (``/openapi.json``) by name:
``App`` is ``AppOut``, ``NotificationIn`` is ``NotificationInput``, and so on. The client's
tests compare their keys with the document of the server they run against, so a field
the server adds or drops fails there instead of surprising a caller.
"""

from typing import Any, Generic, Literal, Required, TypeAlias, TypedDict, TypeVar

T = TypeVar("T")

Provider: TypeAlias = Literal["apns", "fcm", "webpush", "wns", "hms", "webhook"]
Priority: TypeAlias = Literal["high", "normal"]
InteractionKind: TypeAlias = Literal["received", "opened", "dismissed", "action"]


class Page(TypedDict, Generic[T]):
    """One page of a listing; pass ``next`` as ``after`` to read the next one."""

    items: list[T]
    next: str | None


# -- what the API answers --------------------------------------------------------------


class App(TypedDict):
    id: str
    name: str
    description: str
    user_auth: bool
    requires_type: bool
    relay: bool
    action_error_text: dict[str, Any] | None
    action_confirm_text: dict[str, Any] | None
    created_at: str | None
    updated_at: str | None


class Credentials(TypedDict):
    """An app's credentials of one kind, secrets left out (``fingerprints`` tell them apart)."""

    kind: str
    fields_set: list[str]
    values: dict[str, Any]
    fingerprints: dict[str, str]
    updated_at: str | None
    generated: dict[str, str]
    paused_reason: str | None
    paused_at: str | None


class User(TypedDict):
    id: str
    external_id: str
    locale: str | None
    timezone: str | None
    attributes: dict[str, Any]
    unit: str | None
    created_at: str | None
    updated_at: str | None


class Device(TypedDict):
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


class NotificationAccepted(TypedDict):
    id: str
    state: str
    targeted: int
    created: bool
    unknown: list[str]
    send_at: str | None
    expires_at: str | None


class Engagement(TypedDict):
    received: int
    opened: int
    dismissed: int
    actioned: int
    actions: dict[str, int]
    received_rate: float | None
    open_rate: float | None
    action_rate: float | None
    median_seconds_to_open: int | None


class Notification(TypedDict):
    id: str
    app_id: str
    state: str
    targeted: int
    fanout_done: bool
    records: str
    type: str | None
    audience: dict[str, Any]
    content: dict[str, Any]
    idempotency_key: str | None
    send_at: str | None
    expires_at: str | None
    created_at: str | None
    updated_at: str | None
    deliveries: dict[str, int]
    by_provider: dict[str, dict[str, int]]
    suppressed: dict[str, int]
    responses: dict[str, dict[str, int]]
    pending: list[dict[str, Any]] | None
    interactions: Engagement | None


class Delivery(TypedDict):
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


class EventAccepted(TypedDict):
    id: str
    created: bool
    state: str


class EventBatchAccepted(TypedDict):
    items: list[EventAccepted]


class Event(TypedDict):
    id: str
    state: str
    event: dict[str, Any]
    idempotency_key: str | None
    triggers: list[dict[str, Any]]
    reason: str | None
    created_at: str | None
    processed_at: str | None


# Functional form: the report has a ``from`` key, a keyword in Python.
AppReport = TypedDict(
    "AppReport",
    {
        "app": str,
        "type": str | None,
        "interval": str,
        "from": str | None,
        "to": str | None,
        "series": list[dict[str, Any]],
        "totals": dict[str, Any],
        "top": list[dict[str, Any]],
    },
)


class InteractionsRecorded(TypedDict):
    recorded: int
    duplicates: int
    late: int
    expired: int


# -- what the caller sends -------------------------------------------------------------


class AppIn(TypedDict, total=False):
    name: Required[str]
    description: str


class AppUpdate(TypedDict, total=False):
    name: str
    description: str
    user_auth_secret: str
    clear_user_auth_secret: bool
    requires_type: bool
    relay: bool


class WebPushSubscription(TypedDict):
    endpoint: str
    keys: dict[str, str]


class DeviceIn(TypedDict, total=False):
    provider: Required[Provider]
    platform: str
    token: str
    subscription: WebPushSubscription
    old_token: str
    user: str
    user_alias: str
    locale: str
    timezone: str
    topics: list[str]
    tags: list[str]
    app_version: str


class UserIn(TypedDict, total=False):
    locale: str | None
    timezone: str | None
    attributes: dict[str, Any] | None
    unit: str | None


class NotificationIn(TypedDict, total=False):
    """A send: ``app`` and ``audience`` (``{"users": [...]}``, ``{"devices": [...]}``,
    ``{"topic": ...}``, ``{"tags": ...}``, ``{"unit": ...}`` or ``{"everyone": true}``) and
    either a title and body or a ``type`` whose template renders them (docs/types.md)."""

    app: Required[str]
    audience: Required[dict[str, Any]]
    type: str
    title: str
    subtitle: str
    body: str
    data: dict[str, Any]
    image: str
    badge: int
    sound: str
    category: str
    thread_id: str
    action_set: str
    actions: list[str]
    locales: dict[str, dict[str, str]]
    content_available: bool
    mutable_content: bool
    interruption_level: str
    relevance_score: float
    overrides: dict[str, Any]
    ttl: int
    priority: Priority
    collapse_key: str
    send_at: str
    deliver_at_local: str
    records: Literal["all", "failures"]


class RecordIn(TypedDict, total=False):
    type: Required[str]
    id: Required[str]
    fields: dict[str, Any]


class EventIn(TypedDict, total=False):
    """A record event (docs/events.md): triggers decide who is told and with which type."""

    name: Required[str]
    record: Required[RecordIn]
    operation: Literal["create", "update", "delete"]
    changes: dict[str, Any]
    actor: str
    occurred_at: str
    data: dict[str, Any]
    app: str
    idempotency_key: str


class InteractionIn(TypedDict, total=False):
    """What a device reports about one push: the ``delivery`` and ``token`` (the
    ``itoken``) its payload carried, or, with the app's user token, the ``device``."""

    notification: Required[str]
    delivery: str
    token: str
    device: str
    event: Required[InteractionKind]
    action_key: str
    at: Required[str]
