"""Validation of what a sender asks for, and the choice of locale variant."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from pushgate.core.audience import UsersAudience
from pushgate.core.localize import choose_variant
from pushgate.core.notification_input import NotificationInput
from pushgate.errors import InvalidInput


def _input(**changes: Any) -> NotificationInput:
    body: dict[str, Any] = {"app": "shop", "audience": {"users": ["alice"]}, "title": "Hi"}
    body.update(changes)
    return NotificationInput.model_validate(body)


def test_a_plain_notification_is_accepted() -> None:
    made = _input(locales={"de": {"title": "Hallo"}}, ttl=60, collapse_key="c1")
    assert made.audience == UsersAudience(users=["alice"])
    assert made.locales["de"].title == "Hallo"


@pytest.mark.parametrize(
    "audience",
    [
        {},
        {"users": ["a"], "topics": ["news"]},
        {"everyone": False},
        {"kind": "everyone"},
        {"users": []},
        {"users": None, "topics": ["news"]},
        {"kind": "topics", "users": ["a"]},
        {"kind": "friends", "users": ["a"]},
        {"kind": None, "users": ["a"]},
    ],
)
def test_exactly_one_audience(audience: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _input(audience=audience)


def test_a_malformed_tag_expression_is_named() -> None:
    with pytest.raises((ValidationError, InvalidInput), match="tag expression"):
        _input(audience={"tags": "(news &&"})


@pytest.mark.parametrize(
    "changes",
    [
        {"title": None},  # nothing to send
        {"ttl": -1},
        {"ttl": 10**9},
        {"data": {"blob": "x" * 5000}},
        {"overrides": {"carrier-pigeon": {}}},
        {"send_at": "2026-12-24T18:00:00"},  # no offset
        {"actions": [f"a{i}" for i in range(5)]},
        {"actions": [{"id": "approve", "title": "x"}]},  # the old inline objects
        {"actions": ["approve", "approve"]},
        {"action_set": "Approval"},
        {"interruption_level": "loud"},
        {"audience": {"users": ["u"] * 10_001}},
        {"unknown_field": 1},
    ],
)
def test_refused_inputs(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _input(**changes)


def test_actions_are_named_by_set_or_by_keys() -> None:
    assert _input(action_set="approval").action_set == "approval"
    assert _input(actions=["reject", "approve"]).actions == ["reject", "approve"]
    assert (_input().action_set, _input().actions) == (None, [])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"action_set": "approval", "actions": ["approve"]}, "actions"),
        ({"action_set": "approval", "category": "approval"}, "category"),
    ],
)
def test_one_way_to_name_actions(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        _input(**changes)
    assert refused.value.details["field"] == field


def test_data_only_and_badge_only_are_something_to_send() -> None:
    assert _input(title=None, data={"k": "v"}).data == {"k": "v"}
    assert _input(title=None, badge=3).badge == 3


@pytest.mark.parametrize(
    "alone",
    [{"badge": 0}, {"subtitle": "s"}, {"sound": "default"}, {"content_available": True}],
)
def test_falsy_but_present_content_is_something_to_send(alone: dict[str, Any]) -> None:
    """A badge of 0 clears the badge; a subtitle or sound alone shows or plays."""
    made = _input(title=None, **alone)
    assert made.model_dump(include=set(alone)) == alone


@pytest.mark.parametrize(
    "empty",
    [{"title": ""}, {"data": {}}, {"title": "", "body": "", "sound": ""}, {"badge": None}],
)
def test_empty_content_is_nothing_to_send(empty: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="nothing to send"):
        _input(**{"title": None, **empty})


@pytest.mark.parametrize(
    ("preferences", "expected"),
    [
        (("de-AT",), "de-AT"),
        (("de_at",), "de-AT"),
        (("de-CH",), "de"),
        (("fr",), None),
        ((None, "de"), "de"),
        (("fr", "de-AT"), "de-AT"),
    ],
)
def test_locale_choice(preferences: tuple[str | None, ...], expected: str | None) -> None:
    variants = {"de": "de", "de-AT": "de-AT", "en": "en"}
    assert choose_variant(variants, *preferences) == expected
