"""Python action handlers shipped for the demo and for tests (docs/actions.md, "Model").

A Python handler is a function found by name in the ``pushgate.actions`` entry point group
(``pyproject.toml``); it gets one :class:`~pushgate.core.actions.ActionResponse` and returns
a JSON-able dict that is kept as the response's result.
"""

from __future__ import annotations

from typing import Any

from pushgate.core.actions import ActionResponse


def approve(response: ActionResponse) -> dict[str, Any]:
    """Approve whatever the notification asked about: answers what was approved, by whom.

    It changes nothing, so running it twice for the same response (handlers run at least
    once) is harmless; a real handler keys its effect on ``response.id``."""
    return {
        "approved": True,
        "response": response.id,
        "notification": response.notification_id,
        "action": response.action_key,
        "user": response.user_id,
        "comment": response.input,
    }
