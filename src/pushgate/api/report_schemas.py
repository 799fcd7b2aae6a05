"""Answers of the report routes (docs/reports.md, "Reports") and their CSV forms."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from pydantic import BaseModel, Field

from pushgate.api.schemas import iso
from pushgate.core.engagement import SERIES_METRICS
from pushgate.core.reports import AppReport, DeliveryLine, TopNotification

DELIVERY_COLUMNS = (
    "delivery",
    "device",
    "provider",
    "state",
    "updated_at",
    "received_at",
    "opened_at",
    "dismissed_at",
    "actions",
)


class PointOut(BaseModel):
    at: str = Field(description="The interval's start (UTC).")
    sent: int
    received: int
    opened: int
    dismissed: int
    actioned: int


class TopOut(BaseModel):
    notification: str
    type: str | None
    created_at: str | None
    sent: int
    opened: int
    open_rate: float

    @classmethod
    def of(cls, top: TopNotification) -> TopOut:
        return cls(
            notification=top.id,
            type=top.type_key,
            created_at=iso(top.created_at),
            sent=top.sent,
            opened=top.opened,
            open_rate=top.open_rate,
        )


class AppReportOut(BaseModel):
    """An app's sends and interactions per interval, and its best opened notifications."""

    app: str
    type: str | None = Field(description="The notification type reported on; null: all.")
    interval: str
    from_: str | None = Field(alias="from", description="Widened to a whole interval.")
    to: str | None = Field(description="Widened to a whole interval (exclusive).")
    series: list[PointOut] = Field(description="Every interval of the range, oldest first.")
    totals: dict[str, int]
    top: list[TopOut] = Field(
        description="The notifications created in the range with any sent, best open rate "
        "first (at most 10)."
    )

    @classmethod
    def of(cls, report: AppReport) -> AppReportOut:
        return cls.model_validate(
            {
                "app": report.app,
                "type": report.type_key,
                "interval": report.interval.value,
                "from": iso(report.start),
                "to": iso(report.end),
                "series": [{"at": iso(p.at), **p.counts} for p in report.points],
                "totals": report.totals,
                "top": [TopOut.of(t) for t in report.top],
            }
        )


def series_csv(report: AppReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("at", *SERIES_METRICS))
    for point in report.points:
        writer.writerow((iso(point.at), *(point.counts[name] for name in SERIES_METRICS)))
    return out.getvalue()


def delivery_csv_header() -> str:
    return ",".join(DELIVERY_COLUMNS) + "\n"


def delivery_csv(lines: Sequence[DeliveryLine]) -> str:
    """Rows of the deliveries CSV; ``actions`` is ``key@time`` joined by ``;``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for line in lines:
        actions = ";".join(f"{key}@{iso(at)}" for key, at in sorted(line.actions.items()))
        writer.writerow(
            (
                line.delivery_id,
                line.device_id,
                line.provider,
                line.state,
                iso(line.updated_at),
                iso(line.events.get("received")) or "",
                iso(line.events.get("opened")) or "",
                iso(line.events.get("dismissed")) or "",
                actions,
            )
        )
    return out.getvalue()
