"""The import fast path accepts only what the full validation accepts, and builds the same.

The full path is the API's: the ``DeviceInput`` model, then ``Registry.build_device``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pushgate.core.inputs import DeviceInput, kept_fields
from pushgate.core.models import App, Device, Tenant
from pushgate.core.quick_rows import FULL_PATH_FIELDS, PLAIN_FIELDS, QuickRow, QuickRows
from pushgate.core.registry import Registry
from pushgate.errors import InvalidInput

TENANT = Tenant("t-1", "default", 0)
APP = App("a-1", TENANT.id, "mobile", "", False, 0, 0)
# build_device reads only the private-targets switch; no storage is touched.
REGISTRY = Registry(None, None, None, audit=None, allow_private_targets=False)  # type: ignore[arg-type]
QUICK = QuickRows(TENANT.id, APP.id, allow_private_targets=False)


def full_path(fields: dict[str, Any]) -> QuickRow | None:
    try:
        data = DeviceInput.model_validate(fields)
        if data.old_token:
            return None
        device = REGISTRY.build_device(TENANT, APP, data)
        return device, data.user, data.user_alias, kept_fields(data.model_fields_set)
    except (ValidationError, InvalidInput):
        return None


def comparable(device: Device) -> dict[str, Any]:
    """A device's fields without those made fresh for each build."""
    values = asdict(device)
    for name in ("id", "state_changed_at", "created_at", "updated_at"):
        values.pop(name)
    return values


def assert_same_verdict(fields: dict[str, Any]) -> bool:
    """Quick never accepts what the full path refuses, nor builds anything else."""
    quick = QUICK.device(fields)
    if quick is None:
        return False
    full = full_path(fields)
    assert full is not None, fields
    assert comparable(quick[0]) == comparable(full[0]), fields
    assert quick[1:] == full[1:]
    return True


PLAIN = {
    "provider": "apns",
    "token": "AB" * 32,
    "platform": "macos",
    "user": "emp-1",
    "user_alias": "m1",
    "locale": "pt_BR",
    "timezone": "Europe/Berlin",
    "topics": ["news", "alerts", "news"],
    "tags": ["tier:gold"],
    "app_version": "4.2.0",
}


def test_plain_rows_take_the_fast_path() -> None:
    rows: list[dict[str, Any]] = [
        PLAIN,
        {"provider": "fcm", "token": "dXk3:APA91b" + "x" * 140},
        {"provider": "hms", "token": "h" * 40, "locale": None, "timezone": None},
        {"provider": "wns", "token": "https://db5p.notify.windows.com/w/?token=AwYAAAB"},
        {"provider": "webhook", "token": "https://hooks.example.com/d/1", "topics": []},
        {"provider": "apns", "token": "ab" * 8, "user": "u" * 256, "app_version": "9" * 64},
        {"provider": "fcm", "token": "f" * 2048, "topics": [f"t{i}" for i in range(200)]},
        {"provider": "fcm", "token": "f" * 20, "tags": [f"g{i}" for i in range(100)]},
    ]
    for fields in rows:
        assert assert_same_verdict(fields), fields
    device, user, alias, kept = QUICK.device(PLAIN) or pytest.fail("not quick")
    assert (device.token, device.topics, user, alias, kept) == (
        "ab" * 32,
        ["alerts", "news"],
        "emp-1",
        "m1",
        frozenset(),
    )


def test_both_paths_keep_what_a_row_does_not_give() -> None:
    # Absent keeps the stored value; null (or []) clears it: the same on both paths.
    rows: list[tuple[dict[str, Any], set[str]]] = [
        (
            {"provider": "fcm", "token": "f" * 20},
            {"platform", "user_id", "locale", "timezone", "topics", "tags", "app_version"},
        ),
        (
            {"provider": "fcm", "token": "f" * 20, "user_alias": None, "locale": None},
            {"platform", "timezone", "topics", "tags", "app_version"},
        ),
        (
            {"provider": "fcm", "token": "f" * 20, "platform": None, "user": "u", "topics": []},
            {"locale", "timezone", "tags", "app_version"},
        ),
    ]
    for fields, kept in rows:
        assert assert_same_verdict(fields), fields
        quick = QUICK.device(fields) or pytest.fail("not quick")
        assert quick[3] == kept, fields


@pytest.mark.parametrize(
    "changes",
    [
        {"token": "ab" * 32 + "\n"},
        {"token": "xyz"},
        {"token": None},
        {"token": 1234},
        {"provider": "webpush"},
        {"provider": "APNS"},
        {"provider": ["apns"]},
        {"platform": "amiga"},
        {"platform": ""},
        {"user": ""},
        {"user": "u" * 257},
        {"user_alias": 7},
        {"locale": "!!"},
        {"locale": "de-DE\n"},
        {"timezone": "Nowhere/Land"},
        {"timezone": 3},
        {"topics": None},
        {"topics": "news"},
        {"topics": ["not ok"]},
        {"topics": [f"t{i}" for i in range(201)]},
        {"tags": ["x"] * 101},
        {"app_version": "9" * 65},
        {"old_token": "cd" * 32},
        {"colour": "red"},
        # Lone surrogates (JSON "\ud800" decodes to one) are not UTF-8: the model refuses
        # them, and no database could store them.
        {"user": "ana\ud800"},
        {"user_alias": "\udfff"},
        {"app_version": "1.0\ud800"},
        {"provider": "webhook", "token": "https://example.com/hook\ud800"},
    ],
)
def test_anything_else_is_left_to_the_full_path(changes: dict[str, Any]) -> None:
    fields = {**PLAIN, **changes}
    assert QUICK.device(fields) is None
    assert_same_verdict(fields)


def test_a_registration_token_at_the_length_bound() -> None:
    assert assert_same_verdict({"provider": "fcm", "token": "f" * 2048})
    assert QUICK.device({"provider": "fcm", "token": "f" * 2049}) is None


_TEXT = st.one_of(
    st.sampled_from(["", "ab" * 32, "AB" * 8, "news", "de-DE", "Europe/Berlin", "x y", "a\n"]),
    st.text(max_size=12),
)
_VALUES = st.one_of(
    st.none(),
    _TEXT,
    st.integers(),
    st.lists(_TEXT, max_size=4),
    st.sampled_from(["apns", "fcm", "hms", "wns", "webhook", "webpush", "ios", "web"]),
)
_FIELDS = st.dictionaries(
    st.sampled_from([*PLAIN, "old_token", "subscription", "extra"]), _VALUES, max_size=6
)


@settings(max_examples=400, deadline=None, database=None, derandomize=True)
@given(changes=_FIELDS, drop=st.sets(st.sampled_from(list(PLAIN))))
def test_generated_rows_never_disagree(changes: dict[str, Any], drop: set[str]) -> None:
    fields = {k: v for k, v in {**PLAIN, **changes}.items() if k not in drop}
    assert_same_verdict(fields)


def test_every_field_of_the_model_is_plain_or_left_to_the_full_path() -> None:
    # A field added to DeviceInput must be taken up by the fast path, or left to the
    # full validation, on purpose: a row giving it must never be built without it.
    fields = set(DeviceInput.model_json_schema()["properties"])
    assert fields == PLAIN_FIELDS | FULL_PATH_FIELDS
    assert not PLAIN_FIELDS & FULL_PATH_FIELDS
