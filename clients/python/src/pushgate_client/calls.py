"""Every operation the client offers, as a description of one HTTP call.

An operation is written once here, as a function that returns a ``Call``: its method,
path, query, body, headers and how to read the answer. ``Client`` and ``AsyncClient``
(client.py) run the same ``Call`` with httpx's blocking or asynchronous client, so the
two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from pushgate_client.models import (
    App,
    AppIn,
    AppReport,
    AppUpdate,
    Credentials,
    Delivery,
    Device,
    DeviceIn,
    Event,
    EventAccepted,
    EventBatchAccepted,
    EventIn,
    InteractionIn,
    InteractionsRecorded,
    Notification,
    NotificationAccepted,
    NotificationIn,
    Page,
    Provider,
    User,
    UserIn,
)

T = TypeVar("T")

Query = Mapping[str, str | int | None]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One HTTP request and the reading of its (2xx) answer."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    query: Query = field(default_factory=dict)
    json: object = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Devices report interactions without an API key: their push's token is the proof.
    keyless: bool = False


def _json(response: httpx.Response) -> Any:
    return response.json()


def _text(response: httpx.Response) -> str:
    return response.text


def _nothing(response: httpx.Response) -> None:
    return None


def _segment(value: str) -> str:
    """A path segment: ids and names are quoted so a ``/`` cannot reach another route."""
    return quote(value, safe="")


def _paging(limit: int | None, after: str | None) -> dict[str, str | int | None]:
    return {"limit": limit, "after": after}


def _idempotent(key: str | None) -> dict[str, str]:
    return {} if key is None else {"Idempotency-Key": key}


def _moment(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


# -- apps ------------------------------------------------------------------------------


def list_apps() -> Call[list[App]]:
    """The tenant's apps."""
    return Call("GET", "/v1/apps", _json)


def create_app(app: AppIn) -> Call[App]:
    """Create an app (``{"name", "description"}``)."""
    return Call("POST", "/v1/apps", _json, json=app)


def get_app(name: str) -> Call[App]:
    return Call("GET", f"/v1/apps/{_segment(name)}", _json)


def update_app(name: str, changes: AppUpdate) -> Call[App]:
    return Call("PATCH", f"/v1/apps/{_segment(name)}", _json, json=changes)


def delete_app(name: str) -> Call[None]:
    return Call("DELETE", f"/v1/apps/{_segment(name)}", _nothing)


def put_credentials(app: str, kind: Provider, values: Mapping[str, Any]) -> Call[Credentials]:
    """Set an app's credentials of one provider kind (docs/credentials.md has each kind's
    fields); setting them again resumes a kind paused by the provider's refusal."""
    path = f"/v1/apps/{_segment(app)}/credentials/{kind}"
    return Call("PUT", path, _json, json=dict(values))


def delete_credentials(app: str, kind: Provider) -> Call[None]:
    return Call("DELETE", f"/v1/apps/{_segment(app)}/credentials/{kind}", _nothing)


# -- devices ---------------------------------------------------------------------------


def register_device(app: str, device: DeviceIn, *, user_token: str | None = None) -> Call[Device]:
    """Register or refresh a device (an upsert by app, provider and token). ``user_token``
    is the host-signed token of an app that requires one (docs/credentials.md)."""
    headers = {} if user_token is None else {"Pushgate-User-Token": user_token}
    return Call("POST", f"/v1/apps/{_segment(app)}/devices", _json, json=device, headers=headers)


def get_device(device_id: str) -> Call[Device]:
    return Call("GET", f"/v1/devices/{_segment(device_id)}", _json)


def list_devices(
    *,
    app: str | None = None,
    provider: str | None = None,
    state: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> Call[Page[Device]]:
    query = {"app": app, "provider": provider, "state": state, **_paging(limit, after)}
    return Call("GET", "/v1/devices", _json, query=query)


def delete_device(device_id: str) -> Call[Device]:
    """Unregister a device; the answer is the device as it was."""
    return Call("DELETE", f"/v1/devices/{_segment(device_id)}", _json)


# -- users -----------------------------------------------------------------------------


def put_user(external_id: str, user: UserIn) -> Call[User]:
    """Create or replace the user the host knows as ``external_id``."""
    return Call("PUT", f"/v1/users/{_segment(external_id)}", _json, json=user)


def get_user(external_id: str) -> Call[User]:
    return Call("GET", f"/v1/users/{_segment(external_id)}", _json)


def list_users(*, limit: int | None = None, after: str | None = None) -> Call[Page[User]]:
    return Call("GET", "/v1/users", _json, query=_paging(limit, after))


def list_user_devices(
    external_id: str, *, limit: int | None = None, after: str | None = None
) -> Call[Page[Device]]:
    path = f"/v1/users/{_segment(external_id)}/devices"
    return Call("GET", path, _json, query=_paging(limit, after))


def delete_user(external_id: str) -> Call[None]:
    return Call("DELETE", f"/v1/users/{_segment(external_id)}", _nothing)


# -- notifications ---------------------------------------------------------------------


def send_notification(
    notification: NotificationIn, *, idempotency_key: str | None = None
) -> Call[NotificationAccepted]:
    """Accept a notification for delivery. A repeat with the same ``idempotency_key``
    answers the first notification (``created`` false) instead of sending again."""
    headers = _idempotent(idempotency_key)
    return Call("POST", "/v1/notifications", _json, json=notification, headers=headers)


def get_notification(notification_id: str) -> Call[Notification]:
    """Its state, counts by outcome and provider, and what devices reported."""
    return Call("GET", f"/v1/notifications/{_segment(notification_id)}", _json)


def list_notifications(
    *,
    app: str | None = None,
    state: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> Call[Page[Notification]]:
    query = {"app": app, "state": state, **_paging(limit, after)}
    return Call("GET", "/v1/notifications", _json, query=query)


def list_deliveries(
    notification_id: str,
    *,
    outcome: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> Call[Page[Delivery]]:
    path = f"/v1/notifications/{_segment(notification_id)}/deliveries"
    return Call("GET", path, _json, query={"outcome": outcome, **_paging(limit, after)})


def cancel_notification(notification_id: str) -> Call[Notification]:
    """Cancel what is not sent yet; the answer is the notification after it."""
    return Call("DELETE", f"/v1/notifications/{_segment(notification_id)}", _json)


# -- events ----------------------------------------------------------------------------


def record_event(event: EventIn, *, idempotency_key: str | None = None) -> Call[EventAccepted]:
    """Store a record event; triggers turn it into notifications (docs/events.md)."""
    headers = _idempotent(idempotency_key)
    return Call("POST", "/v1/events", _json, json=event, headers=headers)


def record_events(events: Sequence[EventIn]) -> Call[EventBatchAccepted]:
    """Up to 1,000 events in one request, stored together."""
    return Call("POST", "/v1/events:batch", _json, json={"events": list(events)})


def get_event(event_id: str) -> Call[Event]:
    """Which triggers matched, the notifications they made, or why none."""
    return Call("GET", f"/v1/events/{_segment(event_id)}", _json)


# -- reports and interactions ----------------------------------------------------------


def app_report(
    app: str,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    interval: str | None = None,
    type: str | None = None,
) -> Call[AppReport]:
    """The app's series (``interval`` ``hour`` or ``day``) from ``start`` to ``end`` and
    its top notifications by open rate."""
    query = {"from": _moment(start), "to": _moment(end), "interval": interval, "type": type}
    return Call("GET", f"/v1/reports/apps/{_segment(app)}", _json, query=query)


def app_series_csv(
    app: str,
    *,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    interval: str | None = None,
) -> Call[str]:
    query = {"from": _moment(start), "to": _moment(end), "interval": interval}
    return Call("GET", f"/v1/reports/apps/{_segment(app)}/series.csv", _text, query=query)


def deliveries_csv(notification_id: str) -> Call[str]:
    """Each delivery of a notification with what its device reported, as CSV."""
    path = f"/v1/reports/notifications/{_segment(notification_id)}/deliveries.csv"
    return Call("GET", path, _text)


def report_interactions(
    app: str, events: Sequence[InteractionIn], *, user_token: str | None = None
) -> Call[InteractionsRecorded]:
    """What a device did with its pushes (up to 100 events), proven by each push's token,
    or, for events naming their ``device``, by the app's ``user_token`` (docs/reports.md)."""
    body = {"app": app, "events": list(events)}
    headers = {} if user_token is None else {"Pushgate-User-Token": user_token}
    return Call("POST", "/v1/interactions", _json, json=body, headers=headers, keyless=True)
