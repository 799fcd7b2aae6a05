"""The retry policy and tag expressions: pure functions, tested directly."""

from __future__ import annotations

import random

import pytest

from pushgate.core import outcomes, tagexpr
from pushgate.core.retry import RetryPolicy
from pushgate.errors import InvalidInput

NOW = 1_800_000_000_000
HOUR = 3_600_000


def test_only_retry_outcomes_are_retried() -> None:
    policy = RetryPolicy()
    for final in (
        outcomes.sent("x"),
        outcomes.invalid_token("Unregistered"),
        outcomes.rejected("PayloadTooLarge"),
        outcomes.auth_failed("InvalidProviderToken"),
    ):
        assert policy.next_attempt_at(1, final, NOW, NOW + HOUR) is None
    assert policy.next_attempt_at(1, outcomes.retry("503"), NOW, NOW + HOUR) is not None


def test_backoff_grows_with_jitter_and_stays_under_the_cap() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=60)
    rng = random.Random(7)
    delays = [policy.backoff(attempt, rng) for attempt in range(1, 10)]
    assert 1 <= delays[0] <= 2
    assert 4 <= delays[2] <= 8
    assert all(30 <= d <= 60 for d in delays[5:])
    spread = {round(policy.backoff(3, rng), 3) for _ in range(20)}
    assert len(spread) > 1  # jittered, not synchronized


def test_retry_after_is_a_floor() -> None:
    policy = RetryPolicy(base_seconds=1, cap_seconds=5)
    at = policy.next_attempt_at(1, outcomes.retry("429", after=120), NOW, NOW + HOUR)
    assert at == NOW + 120_000


def test_never_past_the_deadline_or_the_attempt_limit() -> None:
    policy = RetryPolicy(base_seconds=60, max_attempts=3)
    assert policy.next_attempt_at(1, outcomes.retry("503"), NOW, NOW + 10_000) is None
    assert policy.next_attempt_at(3, outcomes.retry("503"), NOW, NOW + HOUR) is None


@pytest.mark.parametrize(
    ("expression", "tags", "expected"),
    [
        ("news", {"news"}, True),
        ("news", {"sports"}, False),
        ("(sports && !football) || news", {"sports"}, True),
        ("(sports && !football) || news", {"sports", "football"}, False),
        ("(sports && !football) || news", {"football", "news"}, True),
        ("a && b && c", {"a", "b"}, False),
        ("!!a", {"a"}, True),
        ("lang:de && tier=gold", {"lang:de", "tier=gold"}, True),
    ],
)
def test_tag_expressions_evaluate(expression: str, tags: set[str], expected: bool) -> None:
    assert tagexpr.matches(tagexpr.parse(expression), tags) is expected


@pytest.mark.parametrize(
    "expression",
    ["", "a &&", "(a || b", "a b", "a || || b", ")", "a $ b", "(" * 40 + "a" + ")" * 40],
)
def test_malformed_tag_expressions_are_refused(expression: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        tagexpr.parse(expression)
    assert caught.value.details["field"] == "audience.tags"


def test_tag_expressions_are_bounded() -> None:
    with pytest.raises(InvalidInput, match="more than 64 tags"):
        tagexpr.parse(" || ".join(f"t{i}" for i in range(65)))
    with pytest.raises(InvalidInput, match="longer than"):
        tagexpr.parse("a" * 1025)
