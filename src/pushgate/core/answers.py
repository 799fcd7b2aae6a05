"""A device's answer to an action, taken over HTTP (docs/actions.md, "Answering a
notification").

A device holds no API key: the push it answers carried a response token
(``core/response_tokens.py``) naming the delivery, the notification and the device. The
route names the app and the action. Each check below refuses with its own error (their
statuses in ``api/errors.py``), in this order: the token; the notification and its app
(resolved within the notification's tenant, since app names are per tenant); the body (a
device whose answer cannot be read is told so by a push, ``core/action_notices.py``); the
device; the action and whether the notification offered it; the user, for an action that
requires authentication. Then the answer is recorded with its job (``core/responses.py``)
and the request waits a moment for the handler (``core/response_waiter.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from pushgate.core import response_tokens
from pushgate.core.action_notices import ActionNotices, Notice, TenantLookup, unreadable_key
from pushgate.core.actions import ActionDefinition, ActionResponse, ResponseState
from pushgate.core.clock import Clock
from pushgate.core.ids import new_id
from pushgate.core.models import App, Tenant
from pushgate.core.notifications import Notification
from pushgate.core.ports import ActionLookup, NotificationStorePort, ResponseStorePort
from pushgate.core.rate_limits import RateLimits
from pushgate.core.registry import Registry
from pushgate.core.response_tokens import ResponseToken, TokenRefused
from pushgate.core.response_waiter import ResponseWaiter
from pushgate.core.responses import (
    HandlerResult,
    ResponseRecorder,
    StoredResponse,
    check_fields,
)
from pushgate.core.secretbox import SecretBox
from pushgate.core.ttlcache import TtlCache
from pushgate.errors import (
    ActionNotOffered,
    AlreadyAnswered,
    AppMismatch,
    DeviceMismatch,
    Forbidden,
    HandlerFailed,
    InvalidInput,
    NotFound,
    PushgateError,
    ResponseTokenExpired,
    ResponseTokenInvalid,
    UnreadableBody,
)

log = logging.getLogger(__name__)

# How long a notification read for its answers is reused. What an answer reads of it (its
# tenant, app and offered actions) never changes once it is sent; a notification deleted
# meanwhile is still refused (404), by the response's foreign key when it is stored.
NOTIFICATION_CACHE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class AnswerBody:
    """A body that reads as an answer: ``{token?, input?, data?, device?}``."""

    token: str | None = None
    input: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    device: str | None = None


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A body that does not: why (and which field), and its token when one could be read."""

    reason: str
    field: str | None = None
    token: str | None = None


@dataclass(frozen=True, slots=True)
class Answered:
    """The answer's response: final (``succeeded``) or still being handled (``pending``)."""

    response: StoredResponse
    outcome: Literal["succeeded", "pending"]


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a verified token and its notification establish."""

    token: ResponseToken
    notification: Notification
    tenant: Tenant
    app: App


class Answers:
    """Takes answers from devices and reads them back with the same token."""

    def __init__(
        self,
        box: SecretBox,
        notifications: NotificationStorePort,
        registry: Registry,
        tenants: TenantLookup,
        actions: ActionLookup,
        responses: ResponseStorePort,
        recorder: ResponseRecorder,
        waiter: ResponseWaiter,
        notices: ActionNotices,
        limits: RateLimits,
        *,
        wait_seconds: float,
        clock: Clock,
    ) -> None:
        self.box = box
        self.notifications = notifications
        self.registry = registry
        self.tenants = tenants
        self.actions = actions
        self.responses = responses
        self.recorder = recorder
        self.waiter = waiter
        self.notices = notices
        self.limits = limits
        self.wait_seconds = wait_seconds
        self.clock = clock
        self._notifications: TtlCache[str, Notification] = TtlCache(
            NOTIFICATION_CACHE_SECONDS, clock=clock.now
        )

    async def answer(
        self,
        app_name: str,
        ref: str,
        bearer: str | None,
        body: AnswerBody | Unreadable,
        user_token: str | None,
    ) -> Answered:
        """Check, record and wait for one answer; raises the error of the first check
        that fails, or :class:`HandlerFailed` when the handler failed."""
        token = await self.verified(body.token or bearer)
        claimed = await self._claim(token, app_name)
        await self.limits.admit_app_answer(claimed.app.id)
        if isinstance(body, Unreadable):
            await self._tell(claimed, ref, body.reason)
            raise UnreadableBody(
                f"the answer cannot be read: {body.reason}",
                details={"field": body.field or "body", "reason": body.reason},
            )
        try:
            check_fields(body.input, body.data)
        except InvalidInput as exc:
            await self._tell(claimed, ref, exc.message)
            raise
        if body.device is not None and body.device != token.device_id:
            raise DeviceMismatch(
                "the body's device is not the one this push went to",
                details={"field": "device"},
            )
        action = await self._offered(claimed, ref)
        if action.authentication_required:
            await self._check_user(claimed, user_token)
        return await self._record(claimed, action, body)

    async def read(self, bearer: str | None, response_id: str) -> StoredResponse:
        """A response of the token's delivery (any other is not found to it)."""
        token = await self.verified(bearer)
        found = await self.responses.response(response_id)
        if found is None or found.response.delivery_id != token.delivery_id:
            raise NotFound(f"response {response_id!r} not found", details={"response": response_id})
        return found

    async def verified(self, text: str | None) -> ResponseToken:
        """The token's claims, taken from the device's bucket (401 when refused)."""
        if not text:
            raise ResponseTokenInvalid(
                "a response token is required (Authorization: Bearer, or the body's token)",
                details={"reason": "missing"},
            )
        read = response_tokens.read(self.box, text, int(self.clock.now()))
        if isinstance(read, TokenRefused):
            if read.reason == "expired":
                raise ResponseTokenExpired(
                    "the response token has expired: the push is too old to answer",
                    details={"reason": "expired"},
                )
            raise ResponseTokenInvalid(
                "the response token is not valid", details={"reason": "invalid"}
            )
        await self.limits.admit_answer(read.device_id)
        return read

    async def _claim(self, token: ResponseToken, app_name: str) -> Claimed:
        notification = await self._notifications.get(
            token.notification_id,
            lambda: self.notifications.notification(token.notification_id),
        )
        tenant = None if notification is None else await self.tenants(notification.tenant_id)
        if notification is None or tenant is None:
            raise NotFound(
                "the answered notification no longer exists",
                details={"notification": token.notification_id},
            )
        app = await self.registry.app(tenant, app_name)
        if app.id != notification.app_id:
            raise AppMismatch(
                f"the push answered is not of the app {app_name!r}", details={"app": app_name}
            )
        return Claimed(token, notification, tenant, app)

    async def _offered(self, claimed: Claimed, ref: str) -> ActionDefinition:
        action = await self.actions.action(claimed.app.id, ref)
        if action is None:
            raise NotFound(f"action {ref!r} not found", details={"action": ref})
        offered = [item.get("id") for item in claimed.notification.content.get("actions") or []]
        if action.id not in offered:
            raise ActionNotOffered(
                f"the notification does not offer the action {action.key!r}",
                details={"action": action.key},
            )
        return action

    async def _check_user(self, claimed: Claimed, user_token: str | None) -> None:
        """The user token must prove the user the push went to (docs/actions.md)."""
        subject = await self.registry.user_of_token(claimed.app.id, user_token)
        if subject is None:
            raise Forbidden(
                "this action requires authentication, and the app has no user-auth secret "
                "to prove a user with",
                details={"reason": "no user auth", "header": "Pushgate-User-Token"},
            )
        device = await self.registry.people.device_by_id(claimed.tenant.id, claimed.token.device_id)
        owner = None
        if device is not None and device.user_id is not None:
            owner = await self.registry.people.user_by_id(device.user_id)
        if owner is None or owner.external_id != subject:
            raise Forbidden(
                "the user token does not belong to the user this push went to",
                details={"header": "Pushgate-User-Token"},
            )

    async def _record(
        self, claimed: Claimed, action: ActionDefinition, body: AnswerBody
    ) -> Answered:
        token = claimed.token
        response = ActionResponse(
            id=new_id(),
            tenant_id=claimed.tenant.id,
            app=claimed.app.name,
            notification_id=token.notification_id,
            delivery_id=token.delivery_id,
            device_id=token.device_id,
            user_id=None,  # the device's, read as the response is stored
            action_id=action.id,
            action_key=action.key,
            input=body.input,
            data=body.data,
            received_at=self.clock.now_ms(),
        )
        recorded = await self.recorder.record(
            _as_stored(response, claimed.app, action), allow_repeats=action.allow_repeats
        )
        first = recorded.response
        if first.response.action_id != action.id:
            raise AlreadyAnswered(
                f"this push was answered with {first.response.action_key!r} already",
                details={"action": first.response.action_key, "response": first.id},
            )
        final = first if first.is_final else await self.waiter.wait(first.id, self.wait_seconds)
        if final is None:
            return Answered(first, "pending")
        if final.state is ResponseState.FAILED:
            raise failure(final)
        return Answered(final, "succeeded")

    async def _tell(self, claimed: Claimed, ref: str, reason: str) -> None:
        """The error push for an answer that could not be read. Its own failure (the
        tenant's send limit spent, say) does not change the device's answer."""
        offered = claimed.notification.content.get("actions") or []
        key = next((a["key"] for a in offered if ref in (a.get("id"), a.get("key"))), ref)
        notice = Notice(
            claimed.app.name,
            claimed.token.device_id,
            claimed.notification.id,
            key,
            reason[:200],
            None,
            unreadable_key(claimed.token.delivery_id, key, reason),
        )
        try:
            await self.notices.unreadable(
                claimed.tenant, claimed.app, notice, claimed.notification.content
            )
        except PushgateError as exc:
            log.warning("no error push for an unreadable answer: %s", exc.message)


def _as_stored(response: ActionResponse, app: App, action: ActionDefinition) -> StoredResponse:
    """The response to store: already SUCCEEDED for a ``record`` handler whose success
    sends no confirmation push (docs/actions.md, "Handlers"). Such an answer runs nothing
    and nothing follows it, so it needs no job: it is settled in the transaction that
    stores it. Any other answer is stored PENDING with its job (at least once)."""
    if action.handler.kind == "record" and app.action_confirm_text is None:
        at = response.received_at
        return StoredResponse(response, app.id, ResponseState.SUCCEEDED, 1, HandlerResult(), at)
    return StoredResponse(response, app.id)


def failure(stored: StoredResponse) -> HandlerFailed:
    """The error a failed response answers with: the handler's code and message."""
    result = stored.result
    details: dict[str, Any] = {
        "response": stored.id,
        "action": stored.response.action_key,
        "state": stored.state.value,
        "code": None if result is None else result.code,
        "message": None if result is None else result.message,
        "result": None if result is None else result.as_json(),
    }
    message = (result.message or result.error) if result is not None else None
    return HandlerFailed(
        f"the action's handler failed: {message or 'unknown error'}", details=details
    )
