"""Reading an answer's body (docs/actions.md, "Answering a notification").

The answer routes read their body themselves rather than through a model: a body that
does not read as an answer is still answered with a push to the device when its token is
valid, so what was wrong must come back as a value, with the token when one was there.
"""

from __future__ import annotations

from typing import Any

from pushgate.api.json_rules import NotJson, parse_body
from pushgate.core.answers import AnswerBody, Unreadable

# The fields an answer may carry, and the JSON type each must have.
_FIELDS: dict[str, tuple[type, str]] = {
    "token": (str, "a string"),
    "input": (str, "a string"),
    "data": (dict, "an object"),
    "device": (str, "a string"),
}


def read_answer(raw: bytes) -> AnswerBody | Unreadable:
    """The answer in ``raw`` (an empty body is an answer with nothing but its action)."""
    if not raw.strip():
        return AnswerBody()
    try:
        # Parsed once: the rules' parse is the value read (a body meeting every rule is
        # plain JSON values, dicts of unique names).
        value, problem = parse_body(raw)
    except NotJson:
        return Unreadable("the body is not valid JSON")
    if problem is not None:
        return Unreadable(problem.message, problem.path or None)
    if not isinstance(value, dict):
        return Unreadable("the body is not a JSON object")
    token = value.get("token") if isinstance(value.get("token"), str) else None
    return _fields(value, token)


def _fields(value: dict[str, Any], token: str | None) -> AnswerBody | Unreadable:
    # Other fields are left alone: an app may send more than pushgate reads.
    for name, (kind, described) in _FIELDS.items():
        found = value.get(name)
        if found is not None and not isinstance(found, kind):
            return Unreadable(f"{name}: must be {described}", name, token)
    return AnswerBody(
        token=token,
        input=value.get("input"),
        data=value.get("data") or {},
        device=value.get("device"),
    )
