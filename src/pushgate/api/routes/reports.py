"""Reports: an app's time series and top notifications, and CSV exports (docs/reports.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import AwareDatetime

from pushgate.api.deps import CallerDep, ServicesDep, TenantDep
from pushgate.api.report_schemas import (
    AppReportOut,
    delivery_csv,
    delivery_csv_header,
    series_csv,
)
from pushgate.core.access import Caller
from pushgate.core.inputs import NAME_PATTERN
from pushgate.core.models import Tenant
from pushgate.core.reports import AppReport, Interval
from pushgate.wiring import Services

router = APIRouter(prefix="/v1/reports", tags=["reports"])
AppName = Annotated[str, Path(pattern=NAME_PATTERN)]
From = Annotated[
    AwareDatetime | None,
    Query(alias="from", description="Start (RFC 3339); default: `to` − 7 days."),
]
To = Annotated[AwareDatetime | None, Query(description="End, exclusive (RFC 3339); default: now.")]
IntervalQ = Annotated[Interval, Query(description="`hour` or `day` (UTC).")]
TypeQ = Annotated[
    str | None, Query(max_length=64, description="Only this notification type; default: all.")
]
NotificationId = Annotated[str, Path(max_length=64)]
CSV = "text/csv; charset=utf-8"
WEEK = timedelta(days=7)


async def _report(
    svc: Services,
    who: Caller,
    tenant: Tenant,
    app: str,
    start: AwareDatetime | None,
    end: AwareDatetime | None,
    interval: Interval,
    type_key: str | None,
) -> AppReport:
    end_ms = svc.clock.now_ms() if end is None else int(end.timestamp() * 1000)
    start_ms = (
        end_ms - int(WEEK.total_seconds() * 1000)
        if start is None
        else int(start.timestamp() * 1000)
    )
    return await svc.reports.app_report(who, tenant, app, (start_ms, end_ms), interval, type_key)


@router.get("/apps/{app}")
async def app_report(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: AppName,
    start: From = None,
    to: To = None,
    interval: IntervalQ = Interval.HOUR,
    type: TypeQ = None,
) -> AppReportOut:
    """Sent, received, opened, dismissed and actioned per hour or day, and the top
    notifications by open rate."""
    return AppReportOut.of(await _report(svc, who, tenant, app, start, to, interval, type))


@router.get("/apps/{app}/series.csv", response_class=Response)
async def app_series_csv(
    svc: ServicesDep,
    who: CallerDep,
    tenant: TenantDep,
    app: AppName,
    start: From = None,
    to: To = None,
    interval: IntervalQ = Interval.HOUR,
    type: TypeQ = None,
) -> Response:
    """The time series as CSV: `at`, then a column per metric."""
    report = await _report(svc, who, tenant, app, start, to, interval, type)
    return Response(series_csv(report), media_type=CSV)


@router.get("/notifications/{notification_id}/deliveries.csv", response_class=Response)
async def deliveries_csv(
    svc: ServicesDep, who: CallerDep, tenant: TenantDep, notification_id: NotificationId
) -> StreamingResponse:
    """A notification's deliveries with when each was received, opened, dismissed and
    which actions were tapped, streamed a page at a time."""
    status = await svc.sending.status(who, tenant, notification_id)

    async def rows() -> AsyncIterator[str]:
        yield delivery_csv_header()
        async for page in svc.reports.delivery_lines(status.notification.id):
            yield delivery_csv(page)

    return StreamingResponse(rows(), media_type=CSV)
