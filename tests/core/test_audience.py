"""The audience as a tagged union: each API and stored form reads as its own kind."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from pushgate.core.audience import (
    DevicesAudience,
    EveryoneAudience,
    TagsAudience,
    TopicsAudience,
    UserAliasesAudience,
    UsersAudience,
    parse_audience,
    stored_audience,
)

# Each form as the API takes it and as notification rows have always stored it.
FORMS = [
    ({"users": ["ext-1", "ext-2"]}, UsersAudience(users=["ext-1", "ext-2"])),
    ({"user_aliases": ["crm-77"]}, UserAliasesAudience(user_aliases=["crm-77"])),
    ({"devices": ["01a2", "tok"]}, DevicesAudience(devices=["01a2", "tok"])),
    ({"topics": ["news", "sports"]}, TopicsAudience(topics=["news", "sports"])),
    ({"tags": "(sports && !football) || news"}, TagsAudience(tags="(sports && !football) || news")),
    ({"everyone": True}, EveryoneAudience(everyone=True)),
]


@pytest.mark.parametrize(("form", "expected"), FORMS)
def test_each_form_reads_as_its_kind_and_is_stored_as_it_came(
    form: dict[str, Any], expected: object
) -> None:
    audience = parse_audience(form)
    assert audience == expected
    assert stored_audience(audience) == form


@pytest.mark.parametrize(("form", "expected"), FORMS)
def test_an_explicit_kind_that_agrees_is_accepted(form: dict[str, Any], expected: object) -> None:
    [key] = form
    assert parse_audience({"kind": key, **form}) == expected


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"kind": "users"},
        {"kind": "everyone"},
        {"kind": "topics", "users": ["a"]},
        {"users": ["a"], "everyone": True},
        {"everyone": False},
    ],
)
def test_a_form_without_one_agreeing_key_is_refused(form: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_audience(form)
