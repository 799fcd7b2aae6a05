"""Tag expressions for audiences: ``(sports && !football) || news``.

A small recursive-descent parser over a bounded input (no ``eval``, no regex
backtracking): ``||`` binds loosest, then ``&&``, then ``!``; parentheses group.
Tags use the device tag alphabet. The result is a tree that can be evaluated against
a device's tags or translated to a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pushgate.errors import InvalidInput

MAX_LENGTH = 1024
MAX_TAGS = 64
MAX_DEPTH = 16
_TOKEN = re.compile(r"\s*(?:(\|\|)|(&&)|(!)|(\()|(\))|([A-Za-z0-9_.:=-]{1,128}))")


@dataclass(frozen=True, slots=True)
class Tag:
    name: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expr, ...]


Expr = Tag | Not | And | Or


def _bad(reason: str) -> InvalidInput:
    return InvalidInput(f"tag expression: {reason}", details={"field": "audience.tags"})


def _tokens(text: str) -> list[str]:
    found: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _bad(f"unexpected character at {position + 1}")
        found.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    return found


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.position = 0
        self.tags = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise _bad("ends too early")
        self.position += 1
        return token

    def parse_or(self, depth: int) -> Expr:
        parts = [self.parse_and(depth)]
        while self.peek() == "||":
            self.take()
            parts.append(self.parse_and(depth))
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self, depth: int) -> Expr:
        parts = [self.parse_not(depth)]
        while self.peek() == "&&":
            self.take()
            parts.append(self.parse_not(depth))
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_not(self, depth: int) -> Expr:
        if depth > MAX_DEPTH:
            raise _bad(f"nested deeper than {MAX_DEPTH}")
        item = self.take()
        if item == "!":
            return Not(self.parse_not(depth + 1))
        if item == "(":
            inner = self.parse_or(depth + 1)
            if self.take() != ")":
                raise _bad("missing )")
            return inner
        if item in ("||", "&&", ")"):
            raise _bad(f"unexpected {item!r}")
        self.tags += 1
        if self.tags > MAX_TAGS:
            raise _bad(f"more than {MAX_TAGS} tags")
        return Tag(item)


def parse(text: str) -> Expr:
    """Parse a tag expression or raise ``InvalidInput`` saying what is wrong."""
    if not text.strip():
        raise _bad("is empty")
    if len(text) > MAX_LENGTH:
        raise _bad(f"longer than {MAX_LENGTH} characters")
    parser = _Parser(_tokens(text))
    tree = parser.parse_or(0)
    if parser.peek() is not None:
        raise _bad(f"unexpected {parser.peek()!r}")
    return tree


def matches(expr: Expr, tags: frozenset[str] | set[str]) -> bool:
    """Whether a device with ``tags`` is in the audience ``expr`` describes."""
    if isinstance(expr, Tag):
        return expr.name in tags
    if isinstance(expr, Not):
        return not matches(expr.operand, tags)
    if isinstance(expr, And):
        return all(matches(part, tags) for part in expr.operands)
    return any(matches(part, tags) for part in expr.operands)
