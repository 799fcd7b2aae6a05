"""A source's mapping turns a host's JSON body into a record event (docs/events.md,
"Inbound sources")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from pushgate.core.event_inputs import EventInput
from pushgate.core.inbound_inputs import MappingInput

_MISSING = object()


@dataclass(frozen=True, slots=True)
class UnknownType(Exception):
    """The body's notification type is absent or not one the mapping knows."""

    message: str


@dataclass(frozen=True, slots=True)
class Unmappable(Exception):
    """The body lacks what the mapping needs, or makes an event that breaks a rule."""

    message: str


def at(body: Any, path: str) -> Any:
    """The value at a dotted path (member names; digits index lists), or ``_MISSING``."""
    found = body
    for part in path.split("."):
        if isinstance(found, dict) and part in found:
            found = found[part]
        elif isinstance(found, list) and part.isdigit() and int(part) < len(found):
            found = found[int(part)]
        else:
            return _MISSING
    return found


def to_event(mapping: MappingInput, body: dict[str, Any], app: str | None) -> EventInput:
    """The event the body stands for; ``UnknownType`` or ``Unmappable`` when there is none."""
    kind = at(body, mapping.name)
    if not isinstance(kind, str | int) or isinstance(kind, bool):
        raise UnknownType(f"no notification type at {mapping.name}")
    name = str(kind)
    if mapping.names is not None:
        if name not in mapping.names:
            raise UnknownType(f"unknown notification type {name[:100]!r}")
        name = mapping.names[name]
    record_id = at(body, mapping.record_id)
    if not isinstance(record_id, str | int) or isinstance(record_id, bool):
        raise Unmappable(f"no record id at {mapping.record_id}")
    fields = body if mapping.fields is None else at(body, mapping.fields)
    if not isinstance(fields, dict):
        raise Unmappable(f"no object at {mapping.fields}")
    fields = dict(fields)
    if mapping.recipients is not None:
        recipients = at(body, mapping.recipients)
        if recipients is _MISSING:
            raise Unmappable(f"no recipients at {mapping.recipients}")
        fields["recipients"] = recipients
    data = {} if mapping.data is None else at(body, mapping.data)
    if not isinstance(data, dict):
        raise Unmappable(f"no object at {mapping.data}")
    actor = None if mapping.actor is None else at(body, mapping.actor)
    key = None if mapping.idempotency_key is None else at(body, mapping.idempotency_key)
    try:
        return EventInput.model_validate(
            {
                "name": name,
                "record": {
                    "type": mapping.record_type,
                    "id": str(record_id),
                    "fields": fields,
                },
                "actor": None if actor is _MISSING or actor is None else str(actor),
                "data": data,
                "app": app,
                "idempotency_key": None if key is _MISSING or key is None else str(key),
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        if where == "name":
            raise UnknownType(f"the notification type {name[:100]!r} is no event name") from exc
        raise Unmappable(f"{where}: {first['msg']}") from exc
