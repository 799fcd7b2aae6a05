"""Python action handlers shipped with pushgate (docs/actions.md, "Handlers"): ``approve``
for the demo, and the ones the test suite's actions name (entry points ``test-*`` in
pyproject.toml), each showing one way a handler can end.

A Python handler is a function found by name in the ``pushgate.actions`` entry point group;
it gets one :class:`~pushgate.core.actions.ActionResponse` and returns a JSON-able dict (or
None) that is kept as the response's result.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pushgate.core.actions import ActionResponse

SLOW_SECONDS = 30.0


def approve(response: ActionResponse) -> dict[str, Any]:
    """The demo's approval: the host system would mark the record approved (or not) here;
    it answers what was decided, by whom.

    It changes nothing, so running it twice for the same response (handlers run at least
    once) is harmless; a real handler keys its effect on ``response.id``."""
    return {
        "approved": response.action_key == "approve",
        "response": response.id,
        "notification": response.notification_id,
        "action": response.action_key,
        "user": response.user_id,
        "comment": response.input,
    }


async def echo(response: ActionResponse) -> dict[str, Any]:
    """Answers what it was given: the response's id, action and input."""
    return {"response": response.id, "action": response.action_key, "input": response.input}


def refuse(response: ActionResponse) -> dict[str, Any]:
    """Fails as a host system's code does when it will not take an answer."""
    raise PermissionError(f"change for {response.action_key!r} is locked")


async def slow(response: ActionResponse) -> None:
    """Outlasts any test's handler timeout."""
    await asyncio.sleep(SLOW_SECONDS)
