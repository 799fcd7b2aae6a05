"""Rendering a notification type's template per delivery, where it reads the recipient
(docs/types.md, "When a template renders").

The notification's content carries the template (``content["template"]``: the type's id,
version and source, core/typed_sends.py); it is compiled once per (type, version) in this
process. The fields of every device of a send batch and of its user are read in one query
for the whole batch. A template that fails for one recipient (an attribute that user
lacks, an unsafe attribute) fails that delivery alone, permanently, with the reason
``template_error: …``; the rest of the batch is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pushgate.core.messages import Message
from pushgate.core.notifications import DueDelivery, Notification
from pushgate.core.outcomes import Outcome, rejected
from pushgate.core.ports import RecipientReader
from pushgate.core.rendering import render_for
from pushgate.core.templates import TemplateCache, TemplateFailure, merge, render
from pushgate.core.typed_sends import TEMPLATE_DATA_KEY, TEMPLATE_KEY
from pushgate.providers.sending import unexpected_failure

_NOBODY: dict[str, Any] = {"user": None, "device": None}


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
        found = await self.recipients.recipients([item.device.id for item in due])
        data = stored.get(TEMPLATE_DATA_KEY, content.get("data") or {})
        out: dict[str, Message | Outcome] = {}
        shared: dict[tuple[str, ...], str] = {}  # parts that do not read the recipient
        for item in due:
            locales = (item.device.locale, item.user_locale)
            context = {"data": data, **found.get(item.device.id, _NOBODY)}
            try:
                rendered = render(template, context, locales, shared)
                out[item.id] = render_for(merge(rendered, content), *locales)
            except TemplateFailure as exc:
                out[item.id] = _failure(exc)
            except Exception as exc:  # fails this delivery alone (docs/architecture.md §5)
                out[item.id] = unexpected_failure(exc, item.id)
        return out


def _failure(exc: TemplateFailure) -> Outcome:
    return rejected(f"template_error: {exc}")
