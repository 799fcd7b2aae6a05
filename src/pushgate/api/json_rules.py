"""The rules every JSON request body meets before any route reads it.

JSON (RFC 8259) leaves some things to the parser; each is refused here, where every body
passes, rather than left to whatever reads the value later:

- a name repeated in one object (§4: "names SHOULD be unique"): Python keeps the last one,
  so ``{"scopes": ["send"], "scopes": ["admin"]}`` would be read as an admin request;
- text that is not Unicode: a lone surrogate (``"\\ud800"``, §8.2), or bytes that are not
  UTF-8 (§8.1);
- the NUL character anywhere in a string or a name: PostgreSQL cannot store it in text,
  SQLite can; refused on every backend alike so a request means the same on both;
- integers outside signed 64 bits and numbers that are not finite (``1e400``, ``NaN``):
  no column, payload encoder or provider takes them (§6 leaves the range to implementations);
- nesting deeper than :data:`MAX_DEPTH`: serialisers and validators recurse per level.

A body that is not JSON at all is left to the route, which answers 400 ``malformed_json``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

# Levels of objects and arrays, the body's own object being the first: ``data``,
# ``attributes`` and ``overrides`` keep 29 or more of their own, far beyond any payload a
# provider takes.
MAX_DEPTH = 32
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_MAX_INT_DIGITS = 20  # longer integer literals are out of range without converting them


@dataclass(frozen=True, slots=True)
class JsonProblem:
    """Why a body is refused: ``path`` names the value (``data.items[2]``; empty for the
    body itself), ``problem`` says what is wrong with it."""

    path: str
    problem: str

    @property
    def message(self) -> str:
        return f"{self.path or 'body'}: {self.problem}"


class NotJson(Exception):
    """The body is not JSON text at all (a syntax error, or not UTF-8)."""


class _Refused(Exception):
    def __init__(self, problem: str) -> None:
        self.problem = problem


class _Repeated(dict[str, Any]):
    """An object that named ``name`` twice; the walk reports where it is."""

    def __init__(self, pairs: list[tuple[str, Any]], name: str) -> None:
        super().__init__(pairs)
        self.name = name


@dataclass(frozen=True, slots=True)
class _Unrepresentable:
    """A number parsed but not kept: ``problem`` says why."""

    problem: str


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    made = dict(pairs)
    if len(made) == len(pairs):
        return made
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            return _Repeated(pairs, name)
        seen.add(name)
    return made


def _integer(text: str) -> int | _Unrepresentable:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        return _Unrepresentable("integer outside the signed 64-bit range")
    return int(text)


def _constant(name: str) -> _Unrepresentable:
    return _Unrepresentable(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_int=_integer, parse_constant=_constant)


def check_body(body: bytes) -> JsonProblem | None:
    """The first problem of a JSON body, or None when it meets every rule.

    Raises :class:`NotJson` when it is not JSON text at all."""
    return parse_body(body)[1]


def parse_body(body: bytes) -> tuple[Any, JsonProblem | None]:
    """The body's value and its first problem: the value is the body's own when there is
    no problem (a reader need not parse it again), unusable otherwise.

    Raises :class:`NotJson` when it is not JSON text at all."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJson("the body is not UTF-8") from exc
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise NotJson(str(exc)) from exc
    except RecursionError:
        # The parser recurses per level: far past MAX_DEPTH, it runs out of stack first.
        return None, JsonProblem("", f"nested deeper than {MAX_DEPTH} levels")
    return value, _walk(value)


def _walk(root: Any) -> JsonProblem | None:
    """The first problem of any value, each judged with its path and depth; iterative, so
    depth costs no stack."""
    pending: list[tuple[Any, str, int]] = [(root, "", 1)]
    while pending:
        value, path, depth = pending.pop()
        problem = _problem(value, depth)
        if problem is not None:
            return JsonProblem(path, problem)
        if isinstance(value, dict):
            for name, item in value.items():
                if (problem := _text_problem(name, "name")) is not None:
                    return JsonProblem(path, problem)
                pending.append((item, f"{path}.{name}" if path else name, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{n}]", depth + 1) for n, item in enumerate(value))
    return None


def _problem(value: Any, depth: int) -> str | None:
    if isinstance(value, str):
        return _text_problem(value, "string")
    if isinstance(value, dict | list):
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(value, _Repeated):
            return f"names {value.name!r} more than once"
        return None
    if isinstance(value, _Unrepresentable):
        return value.problem
    if type(value) is int and not INT64_MIN <= value <= INT64_MAX:
        return "integer outside the signed 64-bit range"
    if type(value) is float and not math.isfinite(value):
        return "number too large to represent"
    return None


def _text_problem(text: str, what: str) -> str | None:
    if "\x00" in text:
        return f"{what} contains the NUL character (U+0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return f"{what} contains a lone surrogate: not valid Unicode"
    return None
