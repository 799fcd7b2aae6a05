"""Rendering a notification type's template per delivery, where it reads the recipient
(docs/types.md, "When a template renders").

The notification's content carries the template (``content["template"]``: the type's id,
version and source, core/typed_sends.py); it is compiled once per (type, version) in this
process. The fields of every device of a send batch and of its user are read in one query
for the whole batch. A template that fails for one recipient (an attribute that user
lacks, an unsafe attribute) fails that delivery alone, permanently, with the reason
``template_error: …``; the rest of the batch is sent.

Per delivery, only what reads the recipient is rendered. For each language a batch meets,
the message is built once with every recipient part standing in as a marker; where the
markers end up whole in the message's title, subtitle or body (the common case: a
personal greeting), each delivery's message is that one with those fields replaced by its
own rendering, so the parts that read only ``data``, the merge with the request's content,
the locale choice and the message's other fields are done once per language, not per
delivery. A marker anywhere else (a recipient field in ``data`` or in the overrides)
renders the whole template per delivery, as before.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from typing import Any

from pushgate.core.messages import Message
from pushgate.core.notifications import DueDelivery, Notification
from pushgate.core.outcomes import Outcome, rejected
from pushgate.core.ports import RecipientReader
from pushgate.core.rendering import render_for
from pushgate.core.templates import (
    CompiledTemplate,
    TemplateCache,
    TemplateFailure,
    merge,
    render,
    render_part,
)
from pushgate.core.typed_sends import TEMPLATE_DATA_KEY, TEMPLATE_KEY
from pushgate.providers.sending import unexpected_failure

_NOBODY: dict[str, Any] = {"user": None, "device": None}
_TEXTS = ("title", "subtitle", "body")
_FIELDS = tuple(field.name for field in dataclasses.fields(Message))
# A language's message, as its fields, with its recipient fields to fill in: (message
# fields, field → part path); None when a recipient part lands elsewhere than a whole
# text field.
_Plan = tuple[dict[str, Any], dict[str, tuple[str, ...]]] | None


class Personalizer:
    """Messages of a batch whose notification has a recipient template."""

    def __init__(self, recipients: RecipientReader, templates: TemplateCache | None = None) -> None:
        self.recipients = recipients
        self.templates = templates or TemplateCache()

    async def messages(
        self, notification: Notification, due: Sequence[DueDelivery]
    ) -> dict[str, Message | Outcome] | None:
        """Each delivery's message or failure, by delivery id; None when the notification
        renders nothing per delivery (its content is final)."""
        content = notification.content
        stored = content.get(TEMPLATE_KEY)
        if stored is None:
            return None
        try:
            template = self.templates.get(
                str(stored["type"]), int(stored["version"]), stored["source"]
            )
        except TemplateFailure as exc:
            failed = _failure(exc)
            return {item.id: failed for item in due}
        found = await self._recipients(template, due)
        data = stored.get(TEMPLATE_DATA_KEY, content.get("data") or {})
        out: dict[str, Message | Outcome] = {}
        shared: dict[tuple[str, ...], str] = {}  # parts that do not read the recipient
        plans: dict[tuple[str | None, str | None], _Plan] = {}
        for item in due:
            locales = (item.device.locale, item.user_locale)
            context = {"data": data, **found.get(item.device.id, _NOBODY)}
            try:
                plan = plans.get(locales)
                if plan is None and locales not in plans:
                    plan = plans[locales] = _plan(template, content, locales, shared)
                if plan is None:
                    rendered = render(template, context, locales, shared)
                    out[item.id] = render_for(merge(rendered, content), *locales)
                else:
                    base, fields = plan
                    own: dict[str, Any] = {
                        name: render_part(template, path, context) for name, path in fields.items()
                    }
                    # Built from the fields: dataclasses.replace costs twice as much.
                    out[item.id] = Message(**base, **own)
            except TemplateFailure as exc:
                out[item.id] = _failure(exc)
            except Exception as exc:  # fails this delivery alone (docs/architecture.md §5)
                out[item.id] = unexpected_failure(exc, item.id)
        return out

    async def _recipients(
        self, template: CompiledTemplate, due: Sequence[DueDelivery]
    ) -> dict[str, dict[str, Any]]:
        """``{device id: {"user", "device"}}`` for the batch: one read of devices and
        users when the template reads ``device``, else of the batch's users alone."""
        if template.reads_device:
            return await self.recipients.recipients([item.device.id for item in due])
        people = await self.recipients.users(
            {item.device.user_id for item in due if item.device.user_id is not None}
        )
        return {
            item.device.id: {"user": people.get(item.device.user_id or ""), "device": None}
            for item in due
        }


def _plan(
    template: CompiledTemplate,
    content: dict[str, Any],
    locales: tuple[str | None, str | None],
    shared: dict[tuple[str, ...], str],
) -> _Plan:
    """The message of one language with markers for the recipient parts, and which text
    field each marker fills; None when a marker is anywhere but a whole text field, or
    when the template fails without its recipient parts (each delivery then renders all
    of it)."""
    tag = secrets.token_hex(8)
    markers = {
        path: f"<<recipient-part-{index}-{tag}>>" for index, path in enumerate(template.personal)
    }
    context = {"data": content.get("data") or {}, **_NOBODY}
    try:
        rendered = render(template, context, locales, shared, stand_ins=markers)
    except TemplateFailure:
        # Rendered per delivery instead, so each failure names that delivery's cause
        # (and a marker's length never counts against a limit).
        return None
    base = render_for(merge(rendered, content), *locales)
    by_marker = {marker: path for path, marker in markers.items()}
    fields: dict[str, tuple[str, ...]] = {}
    for name in _TEXTS:
        value = getattr(base, name)
        if value in by_marker:
            fields[name] = by_marker[value]
    kept = {name: getattr(base, name) for name in _FIELDS if name not in fields}
    if f"-{tag}>>" in repr(kept):
        return None
    return kept, fields


def _failure(exc: TemplateFailure) -> Outcome:
    return rejected(f"template_error: {exc}")
