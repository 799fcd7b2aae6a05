"""Trigger conditions: what compiles, what an event makes of it, and the sandbox's bounds."""

from __future__ import annotations

import pytest

from pushgate.core.conditions import (
    MAX_SOURCE_CHARS,
    ConditionFailed,
    ConditionInvalid,
    compile_condition,
)

EVENT = {
    "name": "incident.assigned",
    "operation": "update",
    "record": {
        "type": "incident",
        "id": "INC0042",
        "fields": {"priority": 1, "assigned_to": "alice", "watchers": ["bob", "carol"]},
    },
    "changes": {"assigned_to": {"old": None, "new": "alice"}},
    "actor": "dave",
    "data": {},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("event.record.fields.priority <= 2", True),
        ('event.name.startsWith("incident.") && "assigned_to" in event.changes', True),
        ('event.record.fields.watchers.exists(w, w == "carol")', True),
        ("event.record.fields.watchers.all(w, w.size() > 3)", False),
        ("has(event.record.fields.closed_at)", False),
        ("event.changes.assigned_to.old == null", True),
    ],
)
def test_a_condition_is_true_or_false_of_an_event(source: str, expected: bool) -> None:
    assert compile_condition(source).holds(EVENT) is expected


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("event.name ==", "Syntax error"),
        ("record.fields.priority == 1", "undeclared reference to 'record.fields.priority'"),
        ('"a" * 1000000000', "no matching overload"),
        ("1 + 1", "must be true or false"),
        ("event.record.fields.watchers.map(w, w).size() > 0", "map() macro is not allowed"),
        ("event.record.fields.watchers.filter(w, true).size() > 0", "filter() macro"),
        ("[" * 100 + "]" * 100 + " == []", "recursion limit"),
        ("true || " * 200 + "true", f"at most {MAX_SOURCE_CHARS} characters"),
    ],
)
def test_what_cannot_be_a_condition_is_refused_with_the_reason(source: str, words: str) -> None:
    with pytest.raises(ConditionInvalid) as refused:
        compile_condition(source)
    assert words in refused.value.message


def test_a_macro_name_inside_a_string_is_only_text() -> None:
    condition = compile_condition('event.name != "x.map(y)"')
    assert condition.holds(EVENT) is True


@pytest.mark.parametrize(
    "source",
    [
        "event.__class__ == event",
        "event.record.__dict__ == {}",
        'event.record["__class__"] == 1',
        "event.record.fields.__globals__ == 1",
    ],
)
def test_python_attributes_are_not_reachable(source: str) -> None:
    """``event`` is a map: a name that is not one of its keys fails, whatever it is."""
    with pytest.raises(ConditionFailed, match="Key not found"):
        compile_condition(source).holds(EVENT)


def test_a_field_the_event_lacks_fails_the_evaluation_with_its_name() -> None:
    condition = compile_condition("event.record.fields.state == 'new'")
    with pytest.raises(ConditionFailed) as failed:
        condition.holds(EVENT)
    assert '"state"' in failed.value.message


def test_a_comparison_between_types_fails_the_evaluation() -> None:
    condition = compile_condition('event.record.fields.priority + "x" == "1x"')
    with pytest.raises(ConditionFailed, match="No matching overloads"):
        condition.holds(EVENT)


def test_nested_comprehensions_stop_at_the_iteration_budget() -> None:
    """No loops exist in CEL; nested comprehensions are the one way to multiply work, and
    the runtime stops them at its budget instead of running 10,000 x 10,000 steps."""
    condition = compile_condition("event.data.l.all(x, event.data.l.all(y, x + y >= 0))")
    big = {**EVENT, "data": {"l": list(range(10_000))}}
    with pytest.raises(ConditionFailed, match="budget"):
        condition.holds(big)


def test_string_growth_is_bounded_by_the_expression_length() -> None:
    """No repetition operator exists; concatenation grows a string by what the expression
    names, and the parser refuses more than 32 levels of nesting (a chain of +)."""
    source = "size(" + " + ".join(["event.data.s"] * 25) + ") > 0"
    condition = compile_condition(source)
    assert condition.holds({**EVENT, "data": {"s": "a" * 65_536}}) is True


def test_a_condition_that_makes_no_bool_fails_the_event() -> None:
    condition = compile_condition("event.record.fields.priority")
    with pytest.raises(ConditionFailed, match="not a bool"):
        condition.holds(EVENT)


def test_a_longer_chain_of_concatenations_is_refused_by_the_nesting_limit() -> None:
    with pytest.raises(ConditionInvalid, match="recursion depth"):
        compile_condition("size(" + " + ".join(["event.data.s"] * 40) + ") > 0")
