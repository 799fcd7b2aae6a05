"""Request dependencies: the services, the authenticated caller, the tenant it acts in."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from pushgate.api.keygate import admitted, known_caller
from pushgate.core.access import Caller
from pushgate.core.inputs import NAME_PATTERN
from pushgate.core.models import Tenant
from pushgate.wiring import Services

# Where a request's scope carries the services its routes use: one FastAPI app serves
# every set of services in a process, and each set's outer layers put theirs here
# (api/app.py).
SERVICES_SCOPE_KEY = "pushgate.services"


async def services(request: Request) -> Services:
    found: Services = request.scope[SERVICES_SCOPE_KEY]
    return found


ServicesDep = Annotated[Services, Depends(services)]


async def caller(
    request: Request,
    svc: ServicesDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Caller:
    # Authenticated already from the headers, before the body was read (api/keygate.py).
    known = known_caller(request.scope)
    if known is not None:
        return known
    # The peer's address, as the audit log's "from where" (behind a proxy: the proxy's,
    # unless the server is told to trust forwarded headers).
    origin = request.client.host if request.client else ""
    return await admitted(svc.access, svc.limits, request.scope, authorization, origin)


CallerDep = Annotated[Caller, Depends(caller)]


async def tenant(
    svc: ServicesDep,
    who: CallerDep,
    tenant: Annotated[
        str | None,
        Query(
            pattern=NAME_PATTERN,
            description="Tenant to act in; instance-wide admin keys only (default: `default`).",
        ),
    ] = None,
) -> Tenant:
    return await svc.access.tenant_for(who, tenant)


TenantDep = Annotated[Tenant, Depends(tenant)]


async def event_scope(
    svc: ServicesDep,
    who: CallerDep,
    tenant: Annotated[
        str | None,
        Query(
            pattern=NAME_PATTERN,
            description="A tenant's events; instance admins may leave it out to see every "
            "event, the instance's own included.",
        ),
    ] = None,
) -> Tenant | None:
    """The tenant whose events a log listing shows (the audit log, operational events);
    None, for an instance admin naming none, is every tenant's and the instance's own."""
    if tenant is None and who.key.tenant_id is None:
        return None
    return await svc.access.tenant_for(who, tenant)


EventScopeDep = Annotated[Tenant | None, Depends(event_scope)]

Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
After = Annotated[str | None, Query(max_length=256, description="Cursor from `next`.")]
