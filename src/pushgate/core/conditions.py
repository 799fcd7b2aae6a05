"""Trigger conditions: CEL expressions over an event, compiled once, evaluated per event.

CEL (https://cel.dev, the Common Expression Language) has no loops, no assignment and no
way out of the values it is given: ``event`` is a map, and a map has keys, never Python
attributes. pushgate runs it with ``cel-expr-python``, the CEL project's own Python binding
of its C++ runtime, which checks an expression when it compiles (an unknown name, an
operator between types that have none, with the column in the message), refuses nesting
deeper than 32 levels, and stops a comprehension past its iteration budget. What the
runtime does not bound, pushgate does here: an expression is at most
:data:`MAX_SOURCE_CHARS` long, and the list-building macros ``map`` and ``filter`` are
refused (each step copies the list so far: a list of 10,000 items took 1.6 GB), which
leaves ``all``, ``exists`` and ``exists_one`` to test lists. The reasons and the
measurements are in docs/events.md, "Conditions".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cel_expr_python.cel as cel

MAX_SOURCE_CHARS = 1024
# The macros that build a list step by step (docs/events.md, "Conditions").
_LIST_BUILDERS = re.compile(r"\.\s*(map|filter|transformList|transformMap)\s*\(")
# String and bytes literals, left out before looking for the macros above.
_TRIPLE = r"""'''.*?'''|\"\"\".*?\"\"\""""
_SINGLE = r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*\""""
_LITERALS = re.compile(f"(?s)[rRbB]*({_TRIPLE}|{_SINGLE})")
_ENV = cel.NewEnv(variables={"event": cel.Type.Map(cel.Type.STRING, cel.Type.DYN)})


class ConditionInvalid(Exception):
    """An expression that cannot be a condition: it does not compile, is too long, uses a
    refused macro or cannot make a bool. ``message`` is for the person who wrote it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConditionFailed(Exception):
    """A condition that compiled but failed on one event (a field the event lacks, a value
    of another type than the expression expects, the iteration budget spent)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled condition; ``source`` as written."""

    source: str
    program: Any

    def holds(self, event: Mapping[str, Any]) -> bool:
        """Whether the condition is true of ``event`` (the view of docs/events.md,
        "The event in conditions and templates"); :class:`ConditionFailed` if it fails."""
        try:
            value = self.program.eval(data={"event": event})
        except (RuntimeError, TypeError, ValueError) as exc:  # the budget, a value it refuses
            raise ConditionFailed(_clean(str(exc))) from exc
        if value.type() == cel.Type.ERROR:
            raise ConditionFailed(_clean(str(value.plain_value())))
        result = value.plain_value()
        if not isinstance(result, bool):
            raise ConditionFailed(f"the condition made {type(result).__name__}, not a bool")
        return result


def compile_condition(source: str) -> Condition:
    """Compile ``source``; :class:`ConditionInvalid` says why it cannot be a condition."""
    if len(source) > MAX_SOURCE_CHARS:
        raise ConditionInvalid(f"a condition is at most {MAX_SOURCE_CHARS} characters")
    found = _LIST_BUILDERS.search(_LITERALS.sub('""', source))
    if found is not None:
        raise ConditionInvalid(
            f"the {found.group(1)}() macro is not allowed in a condition: "
            "test lists with all(), exists() or exists_one()"
        )
    try:
        program = _ENV.compile(source)
    except RuntimeError as exc:
        raise ConditionInvalid(_clean(str(exc))) from exc
    kind = program.return_type()
    if kind not in (cel.Type.BOOL, cel.Type.DYN):
        raise ConditionInvalid(f"a condition must be true or false, this one makes {kind.name()}")
    return Condition(source, program)


def _clean(message: str) -> str:
    """The runtime's message without its status words (``INVALID_ARGUMENT: ERROR:``)."""
    text = re.sub(r"^[A-Z_]+: (ERROR: )?", "", message.strip())
    text = re.sub(r"\s*\[[A-Z_]+\]$", "", text)
    return text.replace("<input>:", "at ").removeprefix("at -1:-1: ")
