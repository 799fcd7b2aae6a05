"""A send that names a notification type: the type's defaults where the request is silent,
and its template rendered into the content (docs/types.md, "Sending a type").

A template that reads only ``data`` renders once, here, into the stored content: the send
path and a broadcast's cost are those of any notification. One that reads the recipient
(``user``, ``device``) is checked here against ``data`` and a sample recipient, and kept
with the content (``content["template"]``: the type's id, version and source) to render
per delivery where the payload is built (delivery/sender.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pushgate.core.notification_input import NotificationInput
from pushgate.core.notification_types import refusal
from pushgate.core.templates import (
    CompiledTemplate,
    TemplateFailure,
    merge,
    render,
    sample_context,
)
from pushgate.core.type_inputs import NotificationType
from pushgate.errors import InvalidInput

# What a stored content carries of a template rendered per delivery.
TEMPLATE_KEY = "template"
# What a template rendered per delivery reads as ``data``, when not the notification's.
TEMPLATE_DATA_KEY = "data"
# The provider kinds a typed notification may reach (absent: all).
PROVIDERS_KEY = "providers"
_SOMETHING = ("title", "subtitle", "body", "data", "sound", "content_available")


@dataclass(frozen=True, slots=True)
class TypedContent:
    """The content to store, and the content whose payloads are checked against the
    providers' limits (with a recipient template: as the sample recipient gets it)."""

    content: dict[str, Any]
    checked: dict[str, Any]


def action_set_of(ntype: NotificationType | None, data: NotificationInput) -> str | None:
    """The request's action set, else the type's when the request names no actions and no
    category of its own (a set's key is the APNs category, docs/actions.md)."""
    if data.action_set is not None or ntype is None:
        return data.action_set
    if data.actions or data.category is not None:
        return None
    return ntype.action_set


def ttl_of(ntype: NotificationType | None, data: NotificationInput) -> int | None:
    if data.ttl is not None or ntype is None:
        return data.ttl
    return ntype.ttl


def typed_content(
    ntype: NotificationType,
    template: CompiledTemplate | None,
    data: NotificationInput,
    content: dict[str, Any],
    template_data: dict[str, Any] | None = None,
) -> TypedContent:
    """``content`` (the request's) with the type's priority, collapse key, providers and
    template; a template that fails on the request's ``data`` is a 422 naming its field.

    ``template_data``, when given, is what the template reads as ``data`` instead of the
    request's own (a trigger's event, docs/events.md): kept with a template rendered per
    delivery, never put in the payload."""
    context_data = data.data if template_data is None else template_data
    content = dict(content)
    if "priority" not in data.model_fields_set and ntype.priority is not None:
        content["priority"] = ntype.priority.value
    if data.collapse_key is None and ntype.collapse_key is not None:
        content["collapse_key"] = ntype.collapse_key
    if ntype.providers:
        content[PROVIDERS_KEY] = list(ntype.providers)
    checked = content
    if template is not None and template.uses_recipient:
        checked = merge(_rendered(template, sample_context(context_data)), content)
        content[TEMPLATE_KEY] = {
            "type": ntype.id,
            "version": ntype.version,
            "source": template.source,
        }
        if template_data is not None:
            content[TEMPLATE_KEY][TEMPLATE_DATA_KEY] = template_data
    elif template is not None:
        content = merge(_rendered(template, {"data": context_data}), content)
        checked = content
    if not any(checked.get(name) for name in _SOMETHING) and checked.get("badge") is None:
        raise InvalidInput(
            "nothing to send: give a title, subtitle, body, data, badge, sound or "
            "content_available, or a type whose template makes one",
            details={"field": "body", "reason": "nothing to send"},
        )
    return TypedContent(content, checked)


def _rendered(template: CompiledTemplate, context: dict[str, Any]) -> dict[str, Any]:
    try:
        return render(template, context)
    except TemplateFailure as exc:
        raise refusal(exc) from exc
