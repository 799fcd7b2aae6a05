"""A notification's answers, as the host system reads them with an API key
(docs/actions.md, "Answering a notification"): listed newest first, and counted per
action key and state on the notification's status."""

from __future__ import annotations

from pushgate.core.access import Caller
from pushgate.core.models import Tenant
from pushgate.core.ports import ResponseStorePort
from pushgate.core.registry import MAX_PAGE
from pushgate.core.responses import StoredResponse
from pushgate.core.sending import NotificationService


class ResponseReads:
    """Reads of responses, by a key that may read the notification (its tenant's)."""

    def __init__(self, sending: NotificationService, store: ResponseStorePort) -> None:
        self.sending = sending
        self.store = store

    async def responses(
        self, caller: Caller, tenant: Tenant, notification_id: str, after: str | None, limit: int
    ) -> list[StoredResponse]:
        """A page of the notification's responses, newest first, older than ``after``."""
        notification = await self.sending.notification(caller, tenant, notification_id)
        return await self.store.list_for(notification.id, after, min(limit, MAX_PAGE))

    async def counts(self, notification_id: str) -> dict[str, dict[str, int]]:
        """Responses per action key, then per state (a notification the caller may read)."""
        counted: dict[str, dict[str, int]] = {}
        for key, state, n in await self.store.counts(notification_id):
            counted.setdefault(key, {})[state] = n
        return counted
