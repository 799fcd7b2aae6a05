"""The actions a notification names, resolved when it is accepted (docs/actions.md).

A notification names an action set by key, or lists action keys inline. Both resolve
against the notification's app to the actions' definitions, which the notification keeps
as a copy in its content (``content_actions``): what rendering reads, whatever happens to
the actions afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pushgate.core.actions import ActionDefinition, content_actions
from pushgate.core.ports import ActionStorePort
from pushgate.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class ChosenActions:
    """The set's key (None for an inline list) and its actions in display order."""

    action_set: str | None
    actions: tuple[ActionDefinition, ...]

    def into(self, content: dict[str, Any]) -> None:
        """Write them into a notification's content, the shape rendering reads."""
        content["action_set"] = self.action_set
        content["actions"] = content_actions(list(self.actions))


async def resolve(
    store: ActionStorePort, app_id: str, action_set: str | None, keys: list[str]
) -> ChosenActions | None:
    """The actions named, or None when the notification names none. An unknown set or
    key is refused naming the field (``action_set``, ``actions[2]``)."""
    if action_set is not None:
        found = await store.action_set(app_id, action_set)
        if found is None:
            raise InvalidInput(
                f"action_set: the app has no action set {action_set!r}",
                details={"field": "action_set", "reason": "unknown action set"},
            )
        named, field = list(found.action_keys), "action_set"
    elif keys:
        named, field = keys, "actions"
    else:
        return None
    definitions = await store.actions_by_key(app_id, named)
    for index, key in enumerate(named):
        if key not in definitions:
            # A set's action cannot be deleted while the set uses it; only a race reaches
            # here for a set, and then the set is what the sender named.
            where = field if action_set is not None else f"actions[{index}]"
            raise InvalidInput(
                f"{where}: the app has no action {key!r}",
                details={"field": where, "reason": "unknown action"},
            )
    return ChosenActions(action_set, tuple(definitions[key] for key in named))
