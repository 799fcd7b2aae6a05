"""The push back to a device after its answer to an action (docs/actions.md, "When an
answer fails").

When a handler fails for good, the device that answered gets a notification saying so, in
the text its app set (``action_error_text``, with variants by locale) or the built-in
English one; when the app set ``action_confirm_text``, a success is confirmed the same way.
An answer that could not be read at all (its body not JSON, say) gets the error push too,
its reason saying what was wrong, from the endpoint that refused it. Each goes through the
ordinary accept path (``NotificationService.accept``), as the system: a key of no one's,
with the ``send`` scope in the response's tenant, audited like any send. Its idempotency
key is made of the response's id, so a handler job that runs again (a worker died after the
response was settled) sends no second push.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pushgate.core.access import Caller
from pushgate.core.actions import ResponseState
from pushgate.core.models import ApiKey, App, LocalizedText, Scope, Tenant
from pushgate.core.notification_input import NotificationInput
from pushgate.core.ports import NotificationStorePort
from pushgate.core.responses import StoredResponse
from pushgate.core.sending import NotificationService
from pushgate.errors import NotFound

DEFAULT_ERROR_TEXT = LocalizedText("Your answer to “{title}” could not be processed: {reason}")
# What ``data.pushgate_kind`` says, so an app tells these pushes from its host's.
ERROR_KIND = "action_error"
CONFIRM_KIND = "action_confirmed"
# The notification's title stands for ``{title}``; without one, this much of its body.
TITLE_CHARS = 60
NO_TITLE = "a notification"
MAX_REASON_CHARS = 200

TenantLookup = Callable[[str], Awaitable[Tenant | None]]


def system_caller(tenant_id: str) -> Caller:
    """pushgate itself, sending in one tenant (recorded as such in the audit log)."""
    key = ApiKey(
        "pushgate", tenant_id, "action responses", "system", "", frozenset({Scope.SEND}), 0
    )
    return Caller(key, "worker")


def fill(template: str, title: str, reason: str, action: str) -> str:
    """The template with its placeholders replaced (not ``str.format``: a title or reason
    holding braces stays as it is)."""
    return (
        template.replace("{title}", title).replace("{action}", action).replace("{reason}", reason)
    )


def title_of(content: dict[str, Any], locale: str | None = None) -> str:
    variant = content.get("locales", {}).get(locale, {}) if locale else {}
    title = variant.get("title") or content.get("title")
    if title:
        return str(title)
    body = str(variant.get("body") or content.get("body") or "")
    return body[:TITLE_CHARS] if body else NO_TITLE


def reason_of(stored: StoredResponse) -> str:
    """What to tell the person: the handler's own message, else the error pushgate saw."""
    result = stored.result
    text = (result.message or result.error) if result is not None else None
    return (text or "unknown error")[:MAX_REASON_CHARS]


@dataclass(frozen=True, slots=True)
class Notice:
    """What one push back to a device is about: the answered notification, the action
    (its key, or what the device named), the response when one was stored, and why."""

    app: str
    device_id: str
    notification_id: str
    action: str
    reason: str
    response_id: str | None
    idempotency_key: str


def notice_input(
    stored: StoredResponse, text: LocalizedText, kind: str, content: dict[str, Any]
) -> NotificationInput:
    """The notification to the one device that answered, localized by its locale."""
    response = stored.response
    notice = Notice(
        response.app,
        response.device_id,
        response.notification_id,
        response.action_key,
        reason_of(stored) if kind == ERROR_KIND else "",
        response.id,
        f"{kind}-{response.id}",
    )
    return notice_for(notice, text, kind, content)


def notice_for(
    notice: Notice, text: LocalizedText, kind: str, content: dict[str, Any]
) -> NotificationInput:
    def body(template: str, locale: str | None) -> str:
        return fill(template, title_of(content, locale), notice.reason, notice.action)[:2048]

    return NotificationInput.model_validate(
        {
            "app": notice.app,
            "audience": {"devices": [notice.device_id]},
            "body": body(text.text, None),
            "locales": {locale: {"body": body(t, locale)} for locale, t in text.locales.items()},
            "data": {
                "pushgate_kind": kind,
                "response_id": notice.response_id,
                "notification_id": notice.notification_id,
                "action": notice.action,
            },
            "idempotency_key": notice.idempotency_key,
        }
    )


def unreadable_key(delivery_id: str, action: str, reason: str) -> str:
    """The same unreadable answer sent again makes no second push (its idempotency key)."""
    digest = hashlib.sha256(f"{delivery_id}\n{action}\n{reason}".encode()).hexdigest()
    return f"{ERROR_KIND}-unreadable-{digest[:32]}"


class ActionNotices:
    """Sends the push that follows a settled response, when there is one to send."""

    def __init__(
        self,
        sending: NotificationService,
        notifications: NotificationStorePort,
        tenants: TenantLookup,
    ) -> None:
        self.sending = sending
        self.notifications = notifications
        self.tenants = tenants

    async def after(self, stored: StoredResponse) -> str | None:
        """Send the push ``stored``'s final state calls for; its notification's id, or
        None when none is due (or the app, tenant or notification is gone)."""
        tenant = await self.tenants(stored.response.tenant_id)
        if tenant is None:
            return None
        try:
            app = await self.sending.registry.app(tenant, stored.response.app)
        except NotFound:
            return None
        match stored.state:
            case ResponseState.FAILED:
                text, kind = app.action_error_text or DEFAULT_ERROR_TEXT, ERROR_KIND
            case ResponseState.SUCCEEDED if app.action_confirm_text is not None:
                text, kind = app.action_confirm_text, CONFIRM_KIND
            case _:
                return None
        # Read only now: most answers succeed with no confirmation to send.
        notification = await self.notifications.notification(stored.response.notification_id)
        if notification is None:
            return None
        data = notice_input(stored, text, kind, notification.content)
        accepted = await self.sending.accept(system_caller(tenant.id), tenant, data, own=True)
        return accepted.notification.id

    async def unreadable(
        self, tenant: Tenant, app: App, notice: Notice, content: dict[str, Any]
    ) -> str:
        """Tell the device its answer could not be read (docs/actions.md, "Answering a
        notification"), in the app's error text; the push's notification id."""
        text = app.action_error_text or DEFAULT_ERROR_TEXT
        data = notice_for(notice, text, ERROR_KIND, content)
        accepted = await self.sending.accept(system_caller(tenant.id), tenant, data, own=True)
        return accepted.notification.id
