"""The rules of an install, upgrade and uninstall, from hashes alone (core/package_plan.py,
docs/packages.md "Upgrades and conflicts"), and the order of semantic versions."""

from __future__ import annotations

from typing import Any

import pytest

from pushgate.core.package_bundle import ItemKind, ItemRef, item_hash, version_order
from pushgate.core.package_plan import Change, Entry, plan

TYPE = ItemRef(ItemKind.TYPES, "incident")
SET = ItemRef(ItemKind.ACTION_SETS, "approval")
ACTION = ItemRef(ItemKind.ACTIONS, "approve")
TRIGGER = ItemRef(ItemKind.TRIGGERS, "assigned")


def entry(item: Any) -> Entry:
    return Entry(item, item_hash(item))


def kinds(decided: Any) -> dict[str, str]:
    return {ref.name: c.change.value for ref, c in decided.changes.items()}


V1 = {"ttl": 60, "action_set": None}
V2 = {"ttl": 120, "action_set": None}
LOCAL = {"ttl": 5, "action_set": None}


@pytest.mark.parametrize(
    ("current", "recorded", "change", "recorded_after"),
    [
        (None, None, Change.CREATE, V2),
        (V2, None, Change.UNCHANGED, V2),
        (V2, V1, Change.UNCHANGED, V2),
        (V1, V1, Change.UPDATE, V2),
        (LOCAL, V1, Change.CONFLICT, V1),
        (LOCAL, None, Change.CONFLICT, None),
        (None, V1, Change.CONFLICT, V1),
    ],
)
def test_an_item_the_bundle_has(
    current: dict[str, Any] | None,
    recorded: dict[str, Any] | None,
    change: Change,
    recorded_after: dict[str, Any] | None,
) -> None:
    decided = plan(
        {TYPE: entry(V2)},
        {} if current is None else {TYPE: entry(current)},
        {} if recorded is None else {TYPE: item_hash(recorded)},
    )
    assert decided.changes[TYPE].change == change
    assert decided.record.get(TYPE) == (
        None if recorded_after is None else item_hash(recorded_after)
    )


def test_an_item_the_bundle_dropped_is_deleted_unless_changed_here_or_shared() -> None:
    current = {TYPE: entry(V1), TRIGGER: entry({"type": "other"})}
    recorded = {TYPE: item_hash(V1), TRIGGER: item_hash({"type": "incident"})}
    assert kinds(plan({}, current, recorded)) == {
        "types/incident": "delete",
        "triggers/assigned": "conflict",
    }
    shared = plan({}, current, recorded, shared=frozenset({TYPE}))
    assert shared.changes[TYPE].change == Change.UNCHANGED
    # Gone already: nothing to say.
    assert plan({}, {}, recorded).changes == {}


def test_nothing_is_written_that_would_leave_a_name_pointing_nowhere() -> None:
    # The tenant deleted the set the bundle's type shows: the type is not made either.
    wants_set = {"ttl": 60, "action_set": "approval"}
    decided = plan(
        {TYPE: entry(wants_set), SET: entry({"actions": []})},
        {},
        {SET: item_hash({"actions": []})},
    )
    assert kinds(decided) == {"types/incident": "conflict", "action_sets/approval": "conflict"}
    assert "needs action_sets/approval" in str(decided.changes[TYPE].reason)
    assert TYPE not in decided.record
    # An action the tenant's own set still uses stays on uninstall.
    current = {ACTION: entry({"title": "A"}), SET: entry({"actions": ["approve"]})}
    kept = plan({}, current, {ACTION: item_hash({"title": "A"})})
    assert kept.changes[ACTION].change == Change.CONFLICT
    assert "action_sets/approval uses it" in str(kept.changes[ACTION].reason)


def test_a_blocked_item_is_a_conflict_with_its_reason() -> None:
    decided = plan({TYPE: entry(V1)}, {}, {}, blocked={TYPE: "no unit 'emea'"})
    assert (decided.changes[TYPE].change, decided.changes[TYPE].reason) == (
        Change.CONFLICT,
        "no unit 'emea'",
    )
    assert plan({TYPE: entry(V1)}, {TYPE: entry(V1)}, {}, blocked={TYPE: "x"}).changes[
        TYPE
    ].change == (Change.UNCHANGED)


def test_semantic_versions_sort_as_the_spec_says() -> None:
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11"]
    ordered += ["1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0"]
    assert sorted(ordered, key=version_order) == ordered
    assert version_order("1.0.0+build.5") == version_order("1.0.0")
    with pytest.raises(ValueError, match="semantic"):
        version_order("1.0")
