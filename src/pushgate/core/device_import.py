"""Bulk import of devices from CSV or JSON lines.

Every row is validated exactly like an API registration; a bad row is rejected with its
line number and reason and never written. Good rows are upserted in batches, each batch
one transaction (its new users included), so an interrupted import leaves whole
registrations only. Plainly valid rows take a fast path (``core/quick_rows.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from pushgate.core.inputs import KEEPABLE_INPUTS, DeviceInput, kept_fields
from pushgate.core.models import App, Device, Tenant
from pushgate.core.quick_rows import QuickRow, QuickRows
from pushgate.core.registry import Registry
from pushgate.errors import InvalidInput

MAX_REJECTIONS_KEPT = 1000
_LIST_COLUMNS = ("topics", "tags")


class DeviceImportStore(Protocol):
    """What an import needs of storage."""

    async def users_by_aliases(self, app_id: str, aliases: Sequence[str]) -> dict[str, str]: ...

    async def import_devices(
        self, writes: Sequence[tuple[Device, str | None, frozenset[str]]]
    ) -> None: ...

    async def set_units(self, tenant_id: str, units: Mapping[str, str | None]) -> None:
        """Put the users (by external id) in the units (None: in none)."""
        ...


@dataclass
class ImportReport:
    accepted: int = 0
    rejected: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_REJECTIONS_KEPT:
            self.rejections.append((line, reason))


def _csv_row(header: list[str], values: list[str]) -> dict[str, Any]:
    """A CSV row as DeviceInput fields, lists split on spaces.

    As in an API registration, a column the file lacks is kept for a registered token. A
    blank cell of a column it has clears that field, as a JSON null does (an empty list);
    other blanks are dropped.
    """
    row: dict[str, Any] = {
        k: v or None
        for k, v in zip(header, values, strict=False)
        if k and (v or k in KEEPABLE_INPUTS or k == "unit")
    }
    for name in _LIST_COLUMNS:
        if name in row:
            row[name] = row[name].split() if row[name] else []
    if "endpoint" in row:
        row["subscription"] = {
            "endpoint": row.pop("endpoint"),
            "keys": {"p256dh": row.pop("p256dh", ""), "auth": row.pop("auth", "")},
        }
    return row


def _csv_rows(reader: Any) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """The rows of a CSV file; where the file itself is broken (an unclosed quote, more
    cells than the header has columns, bytes that are not UTF-8), a row naming the line
    says so. After a broken quote nothing further can be read, so the import stops there."""
    line = 1
    try:
        header = [name.strip() for name in next(reader, [])]
        for values in reader:
            line = reader.line_num
            if not values:  # csv.DictReader skips blank lines too
                continue
            if len(values) > len(header):
                yield (
                    line,
                    (f"malformed CSV: {len(values)} cells, the header names {len(header)} columns"),
                )
                continue
            yield line, _csv_row(header, values)
    except csv.Error as exc:
        yield reader.line_num, f"malformed CSV: {exc}; nothing after this line was read"
    except UnicodeDecodeError:
        yield line + 1, "malformed CSV: not UTF-8 text; nothing after this line was read"


def read_rows(path: Path, fmt: str | None = None) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, fields) per row; a row that cannot be parsed yields its error text."""
    kind = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    with path.open(newline="", encoding="utf-8") as handle:
        if kind == "csv":
            yield from _csv_rows(csv.reader(handle, strict=True))
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
        people: DeviceImportStore,
        tenant: Tenant,
        app: App,
        *,
        batch_size: int = 5000,
        dry_run: bool = False,
        unit_keys: frozenset[str] = frozenset(),
    ) -> None:
        self.registry = registry
        self.people = people
        self.tenant = tenant
        self.app = app
        self.batch_size = batch_size
        self.dry_run = dry_run
        # The tenant's units: a row's ``unit`` column puts its user in one of them.
        self.unit_keys = unit_keys
        self.quick = QuickRows(
            tenant.id, app.id, allow_private_targets=registry.allow_private_targets
        )

    def _validate(self, fields: dict[str, Any]) -> QuickRow:
        data = DeviceInput.model_validate(fields)
        if data.old_token:
            raise InvalidInput("old_token: token moves are not supported in bulk import")
        device = self.registry.build_device(self.tenant, self.app, data)
        return device, data.user, data.user_alias, kept_fields(data.model_fields_set)

    async def run(
        self,
        rows: Iterable[tuple[int, dict[str, Any] | str]],
        progress: Callable[[int], None] = lambda _: None,
    ) -> ImportReport:
        report = ImportReport()
        batch: list[tuple[int, QuickRow]] = []
        units: dict[str, str | None] = {}  # the batch's users' units, by external id
        writing: asyncio.Task[None] | None = None
        read = 0
        try:
            for line, fields in rows:
                read += 1
                if read % 100 == 0:
                    # The previous batch is being written meanwhile: its round trips
                    # (PostgreSQL) go on while this batch is validated.
                    await asyncio.sleep(0)
                    if read % 1000 == 0:
                        progress(1000)  # a bar update per row would cost more than a row
                if isinstance(fields, str):
                    report.reject(line, fields)
                    continue
                unit = self._unit(fields)
                checked = self.quick.device(fields)
                if checked is None:
                    try:
                        checked = self._validate(fields)
                    except ValidationError as exc:
                        report.reject(line, _first_problem(exc))
                        continue
                    except InvalidInput as exc:
                        report.reject(line, exc.message)
                        continue
                if not _note_unit(line, unit, checked, units, report):
                    continue
                batch.append((line, checked))
                if len(batch) >= self.batch_size:
                    writing = await self._write(batch, report, writing, units)
                    batch, units = [], {}
            writing = await self._write(batch, report, writing, units)
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                # Failing elsewhere: the batch under way still ends whole, written or not.
                with contextlib.suppress(Exception):
                    await writing
        progress(read % 1000)
        return report

    async def _write(
        self,
        batch: list[tuple[int, QuickRow]],
        report: ImportReport,
        writing: asyncio.Task[None] | None,
        units: Mapping[str, str | None],
    ) -> asyncio.Task[None] | None:
        """Resolve the batch's aliases, then start writing it once the previous batch is
        written (batches commit in order); returns the write under way."""
        if not batch:
            return writing
        aliases = [alias for _, (_, _, alias, _) in batch if alias]
        by_alias = await self.people.users_by_aliases(self.app.id, aliases) if aliases else {}
        latest: dict[tuple[str, str], tuple[Device, str | None, frozenset[str]]] = {}
        for line, (device, user, alias, kept) in batch:
            if alias:  # an alias names the user even when an external id is given too
                user_id = by_alias.get(alias)
                if user_id is None:
                    report.reject(line, f"user_alias: {alias!r} is not an alias in the app")
                    continue
                device, user = replace(device, user_id=user_id), None
            latest[(device.provider.value, device.token)] = (device, user, kept)
            report.accepted += 1
        if writing is not None:
            await writing
        if self.dry_run or not latest:
            return None
        return asyncio.create_task(self._import(list(latest.values()), dict(units)))

    async def _import(
        self,
        writes: list[tuple[Device, str | None, frozenset[str]]],
        units: dict[str, str | None],
    ) -> None:
        """The batch's devices (and the users they name), then those users' units."""
        await self.people.import_devices(writes)
        if units:
            await self.people.set_units(self.tenant.id, units)

    def _unit(self, fields: dict[str, Any]) -> str | Refused | Kept | None:
        """The row's ``unit`` (taken out of ``fields``): a unit key, None (a blank cell:
        no unit), KEPT (no such column), or why it is refused."""
        if "unit" not in fields:
            return KEPT
        unit = fields.pop("unit")
        if unit is None or unit == "":
            return None
        if not isinstance(unit, str) or unit not in self.unit_keys:
            return Refused(f"unit: {unit!r} is not a unit of the tenant")
        return unit


def _note_unit(
    line: int,
    unit: str | Kept | Refused | None,
    checked: QuickRow,
    units: dict[str, str | None],
    report: ImportReport,
) -> bool:
    """Note the unit a row puts its user in; False (the row rejected) when the unit is
    not the tenant's, or the row names no user by external id."""
    if isinstance(unit, Kept):
        return True
    if isinstance(unit, Refused):
        report.reject(line, unit.reason)
        return False
    user = checked[1]
    if user is None:
        report.reject(line, "unit: give the user's external id (user) with it")
        return False
    units[user] = unit
    return True


class Kept:
    """A row without a ``unit`` column: the user's unit stays as it is."""


KEPT = Kept()


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str
