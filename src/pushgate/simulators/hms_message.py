"""The checks HMS Push Kit applies to a ``messages:send`` body (docs/providers.md §5.2-5.3):
structure, exactly one kind of target, 1-1000 tokens, size, TTL and collapse_key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

MAX_TOKENS = 1000
MAX_MESSAGE_BYTES = 4096  # §5.2: the message without its tokens
MAX_TTL_SECONDS = 15 * 24 * 60 * 60  # §5.2: 1 s to 15 days
TTL_PATTERN = re.compile(r"(?P<seconds>\d+)(?:\.\d{1,9})?s")
COLLAPSE_KEY_RANGE = range(-1, 101)  # §5.2; the upper bound is unconfirmed


@dataclass(frozen=True, slots=True)
class MessageProblem:
    """A refused message: the HMS result code and its ``msg`` text."""

    code: str
    msg: str


def check_message(payload: Any) -> tuple[dict[str, Any], list[str]] | MessageProblem:
    """The message and its targets (tokens, or one ``topic:``/``condition:`` label)."""
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict):
        return MessageProblem("80100003", "Incorrect message structure: message is required")
    targets = _targets(message)
    if isinstance(targets, MessageProblem):
        return targets
    without_tokens = {k: v for k, v in message.items() if k != "token"}
    if len(orjson.dumps(without_tokens)) > MAX_MESSAGE_BYTES:
        return MessageProblem("80300008", "The message body size exceeds the default value")
    problem = _check_fields(message)
    return problem if problem is not None else (message, targets)


def _targets(message: dict[str, Any]) -> list[str] | MessageProblem:
    kinds = [kind for kind in ("token", "topic", "condition") if message.get(kind) is not None]
    if len(kinds) != 1:
        return MessageProblem(
            "80100003", "Incorrect message structure: exactly one of token, topic, condition"
        )
    value = message[kinds[0]]
    if kinds[0] != "token":
        if not isinstance(value, str) or not value:
            return MessageProblem("80100001", f"Some request parameters are invalid: {kinds[0]}")
        return [f"{kinds[0]}:{value}"]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        return MessageProblem("80100001", "Some request parameters are invalid: token")
    if not value:
        return MessageProblem("80100001", "Some request parameters are invalid: token is empty")
    if len(value) > MAX_TOKENS:
        return MessageProblem("80300010", "The number of tokens in the message body exceeds 1000")
    return list(value)


def _check_fields(message: dict[str, Any]) -> MessageProblem | None:
    if "data" in message and not isinstance(message["data"], str):
        return MessageProblem(
            "80100001", "Some request parameters are invalid: data must be a string"
        )
    android = message.get("android", {})
    if not isinstance(android, dict):
        return MessageProblem("80100003", "Incorrect message structure: android")
    if "ttl" in android:
        problem = _check_ttl(android["ttl"])
        if problem is not None:
            return problem
    collapse_key = android.get("collapse_key")
    if collapse_key is not None and (
        not isinstance(collapse_key, int) or collapse_key not in COLLAPSE_KEY_RANGE
    ):
        return MessageProblem("80100013", "The collapse_key is illegal")
    if "urgency" in android and android["urgency"] not in ("HIGH", "NORMAL"):
        return MessageProblem("80100001", "Some request parameters are invalid: urgency")
    return None


def _check_ttl(ttl: Any) -> MessageProblem | None:
    match = TTL_PATTERN.fullmatch(ttl) if isinstance(ttl, str) else None
    if match is None:
        return MessageProblem("80100001", "Some request parameters are invalid: ttl format")
    seconds = int(match["seconds"])
    if seconds < 1:
        return MessageProblem("80100004", "The message expiration time is earlier than now")
    if seconds > MAX_TTL_SECONDS:
        return MessageProblem("80100001", "Some request parameters are invalid: ttl over 15 days")
    return None
