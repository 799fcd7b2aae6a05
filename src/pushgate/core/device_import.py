"""Bulk import of devices from CSV or JSON lines.

Every row is validated exactly like an API registration; a bad row is rejected with its
line number and reason and never written. Good rows are upserted in batches, each batch
one transaction, so an interrupted import leaves whole registrations only.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pushgate.core.ids import now_ms
from pushgate.core.inputs import DeviceInput
from pushgate.core.models import App, Device, Tenant
from pushgate.core.ports import PeopleStorePort
from pushgate.core.registry import Registry
from pushgate.errors import InvalidInput

MAX_REJECTIONS_KEPT = 1000
_LIST_COLUMNS = ("topics", "tags")
_SUBSCRIPTION_COLUMNS = ("endpoint", "p256dh", "auth")


@dataclass
class ImportReport:
    accepted: int = 0
    rejected: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_REJECTIONS_KEPT:
            self.rejections.append((line, reason))


def _csv_row(raw: dict[str, str | None]) -> dict[str, Any]:
    """A CSV row as DeviceInput fields: blanks dropped, lists split on spaces."""
    row: dict[str, Any] = {k.strip(): v for k, v in raw.items() if k and v not in (None, "")}
    for name in _LIST_COLUMNS:
        if name in row:
            row[name] = str(row[name]).split()
    if "endpoint" in row:
        row["subscription"] = {
            "endpoint": row.pop("endpoint"),
            "keys": {"p256dh": row.pop("p256dh", ""), "auth": row.pop("auth", "")},
        }
    return row


def read_rows(path: Path, fmt: str | None = None) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, fields) per row; a row that cannot be parsed yields its error text."""
    kind = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    with path.open(newline="", encoding="utf-8") as handle:
        if kind == "csv":
            reader = csv.DictReader(handle)
            for raw in reader:
                yield reader.line_num, _csv_row(raw)
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                parsed = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not valid JSON: {exc.msg}"
                continue
            yield number, parsed if isinstance(parsed, dict) else "each line must be an object"


def _first_problem(exc: ValidationError) -> str:
    item = exc.errors()[0]
    where = ".".join(str(part) for part in item["loc"]) or "row"
    return f"{where}: {item['msg']}"


class DeviceImporter:
    """Validates rows, resolves their users, and writes them in batches."""

    def __init__(
        self,
        registry: Registry,
        people: PeopleStorePort,
        tenant: Tenant,
        app: App,
        *,
        batch_size: int = 5000,
        dry_run: bool = False,
    ) -> None:
        self.registry = registry
        self.people = people
        self.tenant = tenant
        self.app = app
        self.batch_size = batch_size
        self.dry_run = dry_run

    def _validate(self, fields: dict[str, Any]) -> tuple[Device, DeviceInput]:
        data = DeviceInput.model_validate(fields)
        if data.old_token:
            raise InvalidInput("old_token: token moves are not supported in bulk import")
        return self.registry.build_device(self.tenant, self.app, data), data

    async def run(
        self,
        rows: Iterable[tuple[int, dict[str, Any] | str]],
        progress: Callable[[int], None] = lambda _: None,
    ) -> ImportReport:
        report = ImportReport()
        batch: list[tuple[int, Device, DeviceInput]] = []
        read = 0
        for line, fields in rows:
            read += 1
            if read % 1000 == 0:
                progress(1000)  # a bar update per row would cost more than the row
            if isinstance(fields, str):
                report.reject(line, fields)
                continue
            try:
                device, data = self._validate(fields)
            except ValidationError as exc:
                report.reject(line, _first_problem(exc))
                continue
            except InvalidInput as exc:
                report.reject(line, exc.message)
                continue
            batch.append((line, device, data))
            if len(batch) >= self.batch_size:
                await self._write(batch, report)
                batch = []
        await self._write(batch, report)
        progress(read % 1000)
        return report

    async def _write(
        self, batch: list[tuple[int, Device, DeviceInput]], report: ImportReport
    ) -> None:
        if not batch:
            return
        externals = [d.user for _, _, d in batch if d.user]
        aliases = [d.user_alias for _, _, d in batch if d.user_alias]
        at = now_ms()
        by_external = (
            await self.people.ensure_users(self.tenant.id, externals, at)
            if externals and not self.dry_run
            else {}
        )
        by_alias = await self.people.users_by_aliases(self.app.id, aliases) if aliases else {}
        latest: dict[tuple[str, str], Device] = {}
        for line, device, data in batch:
            user_id = None
            if data.user_alias:
                user_id = by_alias.get(data.user_alias)
                if user_id is None:
                    report.reject(
                        line, f"user_alias: {data.user_alias!r} is not an alias in the app"
                    )
                    continue
            elif data.user:
                user_id = by_external.get(data.user)
            latest[(device.provider.value, device.token)] = replace(device, user_id=user_id)
            report.accepted += 1
        if not self.dry_run:
            await self.people.upsert_devices(list(latest.values()))
