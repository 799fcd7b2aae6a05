"""Sending notifications and following what became of them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response

from pushgate.api.answer_schemas import ResponseOut
from pushgate.api.deps import After, CallerDep, Limit, ServicesDep, TenantDep
from pushgate.api.keygate import note_limits
from pushgate.api.schemas import (
    DeliveryOut,
    EngagementOut,
    NotificationAccepted,
    NotificationOut,
    Page,
    PendingOut,
    iso,
)
from pushgate.core.notification_input import NotificationInput
from pushgate.core.notifications import DeliveryRecord, DeliveryState, NotificationState
from pushgate.core.pending import PendingReason
from pushgate.core.sending import Status
from pushgate.errors import InvalidInput

router = APIRouter(prefix="/v1/notifications", tags=["notifications"])
NotificationId = Annotated[str, Path(max_length=64)]


def _status(status: Status, responses: dict[str, dict[str, int]] | None = None) -> NotificationOut:
    item = status.notification
    return NotificationOut(
        id=item.id,
        app_id=item.app_id,
        state=item.state.value,
        targeted=item.targeted,
        fanout_done=item.fanout_done,
        records=item.records.value,
        type=item.type_key,
        audience=item.audience,
        content=item.content,
        idempotency_key=item.idempotency_key,
        send_at=iso(item.send_at),
        expires_at=iso(item.expires_at),
        created_at=iso(item.created_at),
        updated_at=iso(item.updated_at),
        deliveries=status.by_state,
        by_provider=status.by_provider,
        suppressed=status.suppressed,
        responses=responses or {},
    )


def _pending(reason: PendingReason) -> PendingOut:
    return PendingOut(
        kind=reason.kind,
        count=reason.count,
        provider=reason.provider,
        reason=reason.reason,
        next_attempt_at=iso(reason.next_attempt_at),
    )


def _delivery(item: DeliveryRecord) -> DeliveryOut:
    return DeliveryOut(
        id=item.id,
        device_id=item.device_id,
        provider=item.provider,
        state=item.state.value,
        attempts=item.attempts,
        next_attempt_at=iso(item.next_attempt_at),
        reason=item.reason,
        status=item.status,
        provider_message_id=item.provider_message_id,
        updated_at=iso(item.updated_at),
    )


@router.post(
    "",
    status_code=202,
    responses={
        200: {
            "model": NotificationAccepted,
            "description": "Answered before: the notification an earlier request with the "
            "same idempotency key made.",
        }
    },
)
async def send(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    body: NotificationInput,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=256,
            description="Within 24 h, the same request again returns the first notification "
            "(200); another request with the key is refused (409 `idempotency_key_reused`).",
        ),
    ] = None,
) -> NotificationAccepted:
    """Accept a notification: stored durably, then fanned out and sent by the workers."""
    if idempotency_key and not body.idempotency_key:
        body = body.model_copy(update={"idempotency_key": idempotency_key})
    accepted = await svc.sending.accept(who, tenant, body)
    note_limits(request.scope, accepted.limits)
    if accepted.created:
        svc.metrics.accepted(tenant.id)
    else:
        response.status_code = 200
    item = accepted.notification
    return NotificationAccepted(
        id=item.id,
        state=item.state.value,
        targeted=item.targeted,
        created=accepted.created,
        unknown=list(accepted.unknown[:100]),
        send_at=iso(item.send_at),
        expires_at=iso(item.expires_at),
    )


@router.get("")
async def list_notifications(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: Annotated[str | None, Query(max_length=128, description="Only this app's.")] = None,
    state: Annotated[NotificationState | None, Query(description="Only in this state.")] = None,
    limit: Limit = 100,
    after: After = None,
) -> Page[NotificationOut]:
    """The tenant's notifications, newest first, each with its delivery counts."""
    found = await svc.sending.list_notifications(who, tenant, app, state, after, limit)
    following = found[-1].notification.id if len(found) == limit else None
    return Page[NotificationOut](items=[_status(s) for s in found], next=following)


@router.get("/{notification_id}")
async def read(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, notification_id: NotificationId
) -> NotificationOut:
    """State, delivery counts per outcome and per provider, answers per action, why the
    deliveries still pending are (``pending``), and what devices reported
    (``interactions``)."""
    status = await svc.sending.status(who, tenant, notification_id)
    out = _status(status, await svc.response_reads.counts(status.notification.id))
    out.pending = [_pending(reason) for reason in await svc.pending_reasons.of(status)]
    engagement = await svc.reports.engagement(status.notification.id)
    out.interactions = EngagementOut.of(engagement, status.by_state.get("sent", 0))
    return out


@router.get("/{notification_id}/deliveries")
async def deliveries(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    notification_id: NotificationId,
    outcome: Annotated[DeliveryState | None, Query(description="Only this outcome.")] = None,
    state: Annotated[
        DeliveryState | None, Query(description="The same as `outcome`.", deprecated=True)
    ] = None,
    limit: Limit = 100,
    after: After = None,
) -> Page[DeliveryOut]:
    """A notification's deliveries, one per device, in device-id order (`next` is a
    device id)."""
    if outcome is not None and state is not None and outcome is not state:
        raise InvalidInput(
            "outcome and state name the same filter; give one",
            details={"outcome": outcome.value, "state": state.value},
        )
    wanted = outcome or state
    found = await svc.sending.deliveries(who, tenant, notification_id, wanted, after, limit)
    following = found[-1].device_id if len(found) == limit else None
    return Page[DeliveryOut](items=[_delivery(d) for d in found], next=following)


@router.delete("/{notification_id}")
async def cancel(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, notification_id: NotificationId
) -> NotificationOut:
    """Cancel what is not yet sent."""
    return _status(await svc.sending.cancel(who, tenant, notification_id))


@router.get("/{notification_id}/responses")
async def responses(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    notification_id: NotificationId,
    limit: Limit = 100,
    after: After = None,
) -> Page[ResponseOut]:
    """Answers to the notification's actions, newest first (`next` is a response id)."""
    found = await svc.response_reads.responses(who, tenant, notification_id, after, limit)
    following = found[-1].id if len(found) == limit else None
    return Page[ResponseOut](items=[ResponseOut.of(r) for r in found], next=following)
