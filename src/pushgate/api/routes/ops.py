"""Operations: liveness, readiness and the instance's identity."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pushgate import __version__
from pushgate.api.deps import CallerDep, ServicesDep
from pushgate.api.errors import documented, error_response
from pushgate.api.schemas import HealthOut, InstanceOut, ReadyOut
from pushgate.core.models import Scope
from pushgate.outage import describe

router = APIRouter()
log = logging.getLogger(__name__)


@router.get("/healthz", tags=["operations"])
async def healthz() -> HealthOut:
    """The process is up."""
    return HealthOut(status="ok")


@router.get("/readyz", tags=["operations"], response_model=ReadyOut, responses=documented(503))
async def readyz(svc: ServicesDep) -> JSONResponse | ReadyOut:
    """The database is reachable and its schema current, and the queue is reachable;
    each is reported on its own (``checks``, or ``details`` of the 503)."""
    database_ready, database = await svc.is_database_ready()
    queue_ready, queue = await svc.is_queue_ready()
    checks = {"database": database, "queue": queue}
    if not (database_ready and queue_ready):
        failing = "; ".join(f"{name}: {text}" for name, text in checks.items() if text != "ok")
        return error_response(503, "not_ready", failing, checks)
    return ReadyOut(status="ready", detail="ok", checks=checks)


@router.get("/v1/instance", tags=["instance"], responses=documented(401))
async def instance(svc: ServicesDep, _: CallerDep) -> InstanceOut:
    """This instance's stable id and public name."""
    return InstanceOut(
        instance_id=await svc.access.instance_id(),
        instance_name=svc.settings.effective_instance_name,
        version=__version__,
    )


@router.get("/metrics", tags=["operations"], include_in_schema=False)
async def metrics(
    svc: ServicesDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Prometheus metrics of this process; series by tenant only for instance admin keys.

    With ``metrics_require_key`` set, only admin-scoped keys may read them: the totals
    say how much the whole instance sends. A key that is given is always checked.
    """
    who = None
    if authorization is not None or svc.settings.metrics_require_key:
        who = await svc.access.authenticate(authorization)
        who.require(Scope.ADMIN)
    try:
        await svc.instance_gauges.refresh()
    except Exception as exc:  # the process's own series still answer
        log.warning("metrics: the instance-wide series could not be read: %s", describe(exc))
    text = generate_latest(svc.metrics.registry) + generate_latest(svc.metrics.instance_registry)
    if who is not None and who.key.is_instance_admin:
        text += generate_latest(svc.metrics.tenant_registry)
    return Response(text, media_type=CONTENT_TYPE_LATEST)
