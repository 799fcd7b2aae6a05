"""The retry policy and tag expressions: pure functions, tested directly."""

from __future__ import annotations

import random

import pytest

from pushgate.core import outcomes, tagexpr
from pushgate.core.outcomes import RetryClass
from pushgate.core.retry import RetryPolicy
from pushgate.core.retry_table import RETRY_TABLE, Backoff
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
    row = Backoff(initial_seconds=2, cap_seconds=60)
    rng = random.Random(7)
    delays = [row.delay(attempt, rng) for attempt in range(1, 10)]
    assert 2 <= delays[0] <= 4
    assert 8 <= delays[2] <= 16
    assert all(30 <= d <= 60 for d in delays[5:])
    spread = {round(row.delay(3, rng), 3) for _ in range(20)}
    assert len(spread) > 1  # jittered, not synchronized


def test_a_retry_after_is_followed_as_the_provider_gave_it() -> None:
    policy = RetryPolicy(table={RetryClass.DEFAULT: Backoff(30, 900)})
    longer = policy.next_attempt_at(1, outcomes.retry("429", after=1200), NOW, NOW + HOUR)
    assert longer == NOW + 1_200_000
    shorter = policy.next_attempt_at(1, outcomes.retry("429", after=4), NOW, NOW + HOUR)
    assert shorter == NOW + 4_000
    # "Retry-After: 0" still waits a second: no busy loop against a provider.
    at_once = policy.next_attempt_at(1, outcomes.retry("429", after=0), NOW, NOW + HOUR)
    assert at_once == NOW + 1_000


def test_never_past_the_deadline_or_the_attempt_limit() -> None:
    policy = RetryPolicy(max_attempts=3, table={RetryClass.DEFAULT: Backoff(60, 900)})
    assert policy.next_attempt_at(1, outcomes.retry("503"), NOW, NOW + 10_000) is None
    assert policy.next_attempt_at(3, outcomes.retry("503"), NOW, NOW + HOUR) is None


# The retry table as the providers' documents ask for it (docs/providers.md §1.5-1.6, §2.5, §3.1,
# §4.4, §5.3; webhooks, §6.3-6.4, keep the default row), written out again so that a changed
# row fails here: (row, first wait at least, longest wait, Retry-After honoured, shortest
# wait a Retry-After may ask for).
ROWS = [
    (RetryClass.DEFAULT, 1, 900, True, 1),
    (RetryClass.APNS_TOO_MANY_REQUESTS, 60, 900, True, 1),
    (RetryClass.APNS_TOKEN_UPDATES, 60, 1200, True, 1),
    (RetryClass.APNS_UNAVAILABLE, 30, 900, True, 1),
    (RetryClass.FCM_QUOTA_EXCEEDED, 60, 900, True, 60),
    (RetryClass.FCM_UNAVAILABLE, 1, 900, True, 1),
    (RetryClass.WEBPUSH_TOO_MANY_REQUESTS, 30, 900, True, 1),
    (RetryClass.WNS_THROTTLED, 60, 3600, True, 1),
    (RetryClass.HMS_FLOW_CONTROL, 30, 900, True, 1),
]


def test_every_retry_class_has_a_row() -> None:
    assert {row[0] for row in ROWS} == set(RetryClass)
    assert set(RETRY_TABLE) == set(RetryClass)


@pytest.mark.parametrize(("retry_class", "initial", "cap", "honoured", "floor"), ROWS, ids=str)
def test_each_row_times_its_retries(
    retry_class: RetryClass, initial: float, cap: float, honoured: bool, floor: float
) -> None:
    policy = RetryPolicy(max_attempts=50)
    rng = random.Random(3)
    answer = outcomes.retry("answer", None, 429, retry_class)
    first = [policy.delay(1, answer, rng) for _ in range(200)]
    assert initial <= min(first)
    assert max(first) <= 2 * initial
    second = [policy.delay(2, answer, rng) for _ in range(200)]
    assert 2 * initial <= min(second)
    assert max(second) <= 4 * initial
    late = [policy.delay(40, answer, rng) for _ in range(200)]
    assert cap / 2 <= min(late)
    assert max(late) <= cap
    # A Retry-After is followed as given where honoured, longer or shorter than our own
    # first wait, but never below the provider's documented minimum.
    asked = outcomes.retry("answer", 4 * cap, 429, retry_class)
    assert (policy.delay(1, asked, rng) == 4 * cap) is honoured
    hurried = outcomes.retry("answer", 0.1, 429, retry_class)
    assert policy.delay(1, hurried, rng) == floor
    planned = policy.next_attempt_at(1, answer, NOW, NOW + 100 * HOUR, rng)
    assert planned is not None
    assert planned >= NOW + initial * 1000


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
