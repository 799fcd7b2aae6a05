"""What installing, upgrading or uninstalling a package changes (docs/packages.md,
"Upgrades and conflicts"), decided from hashes alone:

- an item the app lacks is created, one equal to the bundle's is unchanged;
- an item the package installed and the tenant left as installed (its hash is the one
  recorded) is updated to the bundle's, or deleted when the bundle no longer has it;
- an item the tenant changed or deleted since, or one the package never installed that
  differs, is a conflict: left as the tenant has it, never overwritten;
- nothing is written that would leave an item naming one that is not there (a type its
  action set, a set its actions, a trigger its type): such a change becomes a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pushgate.core.package_bundle import ItemRef, references


class Change(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"


# What writes: the rest leaves the app as it is.
WRITES = frozenset({Change.CREATE, Change.UPDATE, Change.DELETE})


@dataclass(frozen=True, slots=True)
class Entry:
    """An item in its normal form and that form's hash."""

    item: Any
    hash: str


@dataclass(frozen=True, slots=True)
class ItemChange:
    ref: ItemRef
    change: Change
    reason: str | None = None


@dataclass(slots=True)
class Plan:
    changes: dict[ItemRef, ItemChange] = field(default_factory=dict)
    # What the install record holds afterwards: item → hash as installed.
    record: dict[ItemRef, str] = field(default_factory=dict)

    def of(self, change: Change) -> list[ItemRef]:
        return sorted(ref for ref, c in self.changes.items() if c.change == change)


CHANGED_HERE = "changed in this tenant since the package installed it; kept as it is"
DELETED_HERE = "deleted in this tenant since the package installed it; not made again"
NOT_OURS = "exists in this app with other content and was not installed by this package"
SHARED = "another package installed in this app has it too; kept"


def plan(
    desired: Mapping[ItemRef, Entry],
    current: Mapping[ItemRef, Entry],
    recorded: Mapping[ItemRef, str],
    *,
    shared: frozenset[ItemRef] = frozenset(),
    blocked: Mapping[ItemRef, str] | None = None,
) -> Plan:
    """The changes that take the app from ``current`` to ``desired`` given what the
    package installed before (``recorded``: empty on a first install; an uninstall is a
    plan to an empty ``desired``). ``shared`` items are recorded by other packages;
    ``blocked`` ones cannot be written here, for the reason given."""
    blocked = blocked or {}
    out = Plan()
    for ref, want in desired.items():
        _decide_wanted(out, ref, want, current.get(ref), recorded.get(ref), blocked.get(ref))
    for ref, installed in recorded.items():
        if ref in desired or ref not in current:
            continue
        if ref in shared:
            out.changes[ref] = ItemChange(ref, Change.UNCHANGED, SHARED)
        elif current[ref].hash == installed:
            out.changes[ref] = ItemChange(ref, Change.DELETE)
        else:
            out.changes[ref] = ItemChange(ref, Change.CONFLICT, CHANGED_HERE)
    _keep_references(out, desired, current, recorded)
    return out


def _decide_wanted(
    out: Plan,
    ref: ItemRef,
    want: Entry,
    now: Entry | None,
    installed: str | None,
    blocked: str | None,
) -> None:
    if now is not None and now.hash == want.hash:
        out.changes[ref] = ItemChange(ref, Change.UNCHANGED)
        out.record[ref] = want.hash
        return
    if installed is not None:
        out.record[ref] = installed
    if blocked is not None:
        out.changes[ref] = ItemChange(ref, Change.CONFLICT, blocked)
    elif now is None:
        if installed is None:
            out.changes[ref] = ItemChange(ref, Change.CREATE)
            out.record[ref] = want.hash
        else:
            out.changes[ref] = ItemChange(ref, Change.CONFLICT, DELETED_HERE)
    elif installed is None:
        out.changes[ref] = ItemChange(ref, Change.CONFLICT, NOT_OURS)
    elif now.hash == installed:
        out.changes[ref] = ItemChange(ref, Change.UPDATE)
        out.record[ref] = want.hash
    else:
        out.changes[ref] = ItemChange(ref, Change.CONFLICT, CHANGED_HERE)


def _keep_references(
    out: Plan,
    desired: Mapping[ItemRef, Entry],
    current: Mapping[ItemRef, Entry],
    recorded: Mapping[ItemRef, str],
) -> None:
    """Turn into conflicts the writes that would leave a name pointing nowhere, until
    none is left (each round only takes writes back, so it ends)."""
    final: dict[ItemRef, Any] = {ref: entry.item for ref, entry in current.items()}
    for ref, change in out.changes.items():
        if change.change in (Change.CREATE, Change.UPDATE):
            final[ref] = desired[ref].item
        elif change.change == Change.DELETE:
            del final[ref]
    again = True
    while again:
        again = False
        for ref, change in list(out.changes.items()):
            if change.change in (Change.CREATE, Change.UPDATE):
                missing = [r for r in references(ref, final[ref]) if r not in final]
                if not missing:
                    continue
                reason = f"needs {missing[0].name}, which this app does not have"
                _take_back(out, final, ref, current, recorded, reason)
                again = True
            elif change.change == Change.DELETE:
                users = sorted(r for r, item in final.items() if ref in references(r, item))
                if not users:
                    continue
                reason = f"{users[0].name} uses it; kept"
                _take_back(out, final, ref, current, recorded, reason)
                again = True


def _take_back(
    out: Plan,
    final: dict[ItemRef, Any],
    ref: ItemRef,
    current: Mapping[ItemRef, Entry],
    recorded: Mapping[ItemRef, str],
    reason: str,
) -> None:
    out.changes[ref] = ItemChange(ref, Change.CONFLICT, reason)
    if ref in current:
        final[ref] = current[ref].item
    else:
        final.pop(ref, None)
    if ref in recorded:
        out.record[ref] = recorded[ref]
    else:
        out.record.pop(ref, None)
