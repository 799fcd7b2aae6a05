"""The push back to a device after its answer to an action (docs/actions.md, "When an
answer fails").

When a handler fails for good, the device that answered gets a notification saying so,
in the text its app set (``action_error_text``, with variants by locale) or the built-in
English one; when the app set ``action_confirm_text``, a success is confirmed the same
way. Each goes through the ordinary accept path (``NotificationService.accept``), as the
system: a key of no one's, with the ``send`` scope in the response's tenant, audited like
any send. Its idempotency key is made of the response's id, so a handler job that runs
again (a worker died after the response was settled) sends no second push.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pushgate.core.access import Caller
from pushgate.core.actions import ResponseState
from pushgate.core.models import ApiKey, LocalizedText, Scope, Tenant
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


def notice_input(
    stored: StoredResponse, text: LocalizedText, kind: str, content: dict[str, Any]
) -> NotificationInput:
    """The notification to the one device that answered, localized by its locale."""
    response = stored.response
    reason = reason_of(stored) if kind == ERROR_KIND else ""

    def body(template: str, locale: str | None) -> str:
        return fill(template, title_of(content, locale), reason, response.action_key)[:2048]

    return NotificationInput.model_validate(
        {
            "app": response.app,
            "audience": {"devices": [response.device_id]},
            "body": body(text.text, None),
            "locales": {locale: {"body": body(t, locale)} for locale, t in text.locales.items()},
            "data": {
                "pushgate_kind": kind,
                "response_id": response.id,
                "notification_id": response.notification_id,
                "action": response.action_key,
            },
            "idempotency_key": f"{kind}-{response.id}",
        }
    )


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
        notification = await self.notifications.notification(stored.response.notification_id)
        if tenant is None or notification is None:
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
        data = notice_input(stored, text, kind, notification.content)
        accepted = await self.sending.accept(system_caller(tenant.id), tenant, data)
        return accepted.notification.id
