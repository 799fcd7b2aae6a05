"""Relaying (docs/relay.md): the origins a relay sends for, and the batches they send."""

from __future__ import annotations

from typing import Annotated, Any, assert_never

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from pushgate.api.deps import CallerDep, ServicesDep, TenantDep
from pushgate.api.prefer import parse_prefer
from pushgate.api.schemas import KeyCreatedOut, iso
from pushgate.core.inputs import NAME_PATTERN
from pushgate.core.ratelimit import day_of
from pushgate.core.relay_origins import Origin, OriginInput, OriginKeyInput, OriginPatch
from pushgate.core.relay_wire import Accepted, Answered, RelayAnswers, RelayBatch, RelayResult

router = APIRouter(prefix="/v1/relay", tags=["relay"])
AppName = Annotated[str, Path(pattern=NAME_PATTERN)]
InstanceId = Annotated[str, Path(min_length=1, max_length=64)]
BatchId = Annotated[str, Path(min_length=1, max_length=36)]


class OriginOut(BaseModel):
    id: str
    instance_id: str
    instance_name: str
    apps: list[str]
    rate_limit: dict[str, float | int] | None = Field(description="`{per_second, burst}`.")
    per_day: int | None
    today: dict[str, int] = Field(
        default_factory=dict,
        description="This UTC day's counts: messages by answer, and `quota` (batches cut "
        "short or refused by the quota).",
    )
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, origin: Origin, today: dict[str, int] | None = None) -> OriginOut:
        limit = origin.rate_limit
        quota: dict[str, Any] | None = (
            None if limit is None else {"per_second": limit.per_second, "burst": limit.burst}
        )
        return cls(
            id=origin.id,
            instance_id=origin.instance_id,
            instance_name=origin.instance_name,
            apps=list(origin.apps),
            rate_limit=quota,
            per_day=origin.per_day,
            today=today or {},
            created_at=iso(origin.created_at),
            updated_at=iso(origin.updated_at),
        )


async def _with_counts(svc: ServicesDep, origin: Origin) -> OriginOut:
    today = await svc.relay_origins.usage(origin, day_of(svc.clock.now_ms()))
    return OriginOut.of(origin, today)


@router.get("/origins")
async def list_origins(svc: ServicesDep, who: CallerDep, tenant: TenantDep) -> list[OriginOut]:
    """The instances this relay sends for (instance admins), with today's counts."""
    return [await _with_counts(svc, o) for o in await svc.relay_origins.list(who, tenant)]


@router.post("/origins", status_code=201)
async def create_origin(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, body: OriginInput
) -> OriginOut:
    return OriginOut.of(await svc.relay_origins.create(who, tenant, body))


@router.get("/origins/{instance_id}")
async def read_origin(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, instance_id: InstanceId
) -> OriginOut:
    return await _with_counts(svc, await svc.relay_origins.read(who, tenant, instance_id))


@router.patch("/origins/{instance_id}")
async def update_origin(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, instance_id: InstanceId, body: OriginPatch
) -> OriginOut:
    return OriginOut.of(await svc.relay_origins.update(who, tenant, instance_id, body))


@router.delete("/origins/{instance_id}", status_code=204)
async def delete_origin(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, instance_id: InstanceId
) -> Response:
    """The origin goes and its keys are revoked."""
    await svc.relay_origins.delete(who, tenant, instance_id)
    return Response(status_code=204)


@router.post("/origins/{instance_id}/keys", status_code=201)
async def create_origin_key(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    instance_id: InstanceId,
    body: OriginKeyInput,
) -> KeyCreatedOut:
    """A `relay` key bound to the origin, shown once: the origin sets it in its `relay`
    credentials."""
    made = await svc.relay_origins.create_key(who, tenant, instance_id, body)
    return KeyCreatedOut.created(made)


class BatchAccepted(BaseModel):
    """A batch still being sent: its answers come at `GET /v1/relay/{app}/batches/{batch}`
    (the `Location`), once `Retry-After` has passed."""

    batch: str
    state: str = Field("sending", description="Always `sending`.")


def _answer(app: str, result: RelayResult) -> RelayAnswers | JSONResponse:
    match result:
        case Answered(answers):
            return RelayAnswers(answers=answers)
        case Accepted(batch_id, retry_after):
            headers = {
                "Location": f"/v1/relay/{app}/batches/{batch_id}",
                "Retry-After": str(retry_after),
            }
            content = BatchAccepted(batch=batch_id).model_dump()
            return JSONResponse(content, status_code=202, headers=headers)
        case _:
            assert_never(result)


@router.post(
    "/{app}/messages",
    response_model=RelayAnswers,
    response_model_exclude_none=True,
    responses={202: {"model": BatchAccepted, "description": "Still being sent."}},
)
async def relay_messages(
    svc: ServicesDep,
    who: CallerDep,
    app: AppName,
    body: RelayBatch,
    request: Request,
) -> RelayAnswers | JSONResponse:
    """Send an origin's batch (up to 1,000) with the origin's identity stamped in; one
    answer per message, in order. A message id sent again gets its first answer. A send
    that outlasts the relay's bound (20 s, or the request's `Prefer: wait=N`), or a
    request with `Prefer: respond-async`, is answered 202 with `Location` and
    `Retry-After` (RFC 7240)."""
    prefer = parse_prefer(request.headers.getlist("prefer"))
    result = await svc.relay.relay(
        who, app, body, respond_async=prefer.respond_async, wait=prefer.wait
    )
    return _answer(app, result)


@router.get(
    "/{app}/batches/{batch}",
    response_model=RelayAnswers,
    response_model_exclude_none=True,
    responses={202: {"model": BatchAccepted, "description": "Still being sent."}},
)
async def relay_batch(
    svc: ServicesDep, who: CallerDep, app: AppName, batch: BatchId
) -> RelayAnswers | JSONResponse:
    """The answers of a batch answered 202, for the origin that sent it only (404 for any
    other), kept as long as its message ids; 202 again while it is still being sent."""
    return _answer(app, await svc.relay.batch(who, app, batch))
