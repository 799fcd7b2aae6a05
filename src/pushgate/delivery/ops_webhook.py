"""The ``ops_webhook`` job: POST an operational event to its tenant's operational webhook
(docs/operations.md, "Operational events").

The request goes out as the webhook provider's do (docs/providers.md §6): signed the
Standard Webhooks way, ``webhook-id`` being the event's id (the same on every attempt, so
a receiver recognises a repeat), through the client that refuses private targets unless
they are allowed, redirects never followed. Anything but a 2xx is tried again with a
growing wait until :data:`MAX_AGE_MS` after the event; then the event is dropped with a
log line, never with an operational event of its own (which would POST again: a loop).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.credentials.webhook import DEFAULT_TIMEOUT_SECONDS
from pushgate.core.interaction_forwarding import ForwardBatch
from pushgate.core.models import Tenant
from pushgate.core.operational_events import OperationalEvent, OperationalEvents
from pushgate.core.operational_webhook import OperationalWebhooks
from pushgate.core.retry_table import Backoff
from pushgate.delivery.jobs import OpsWebhookJob
from pushgate.delivery.sender import Postpone
from pushgate.providers.http_client import make_client, post, short_reason
from pushgate.providers.options import ProviderOptions
from pushgate.providers.target_guard import PrivateTargetRefused
from pushgate.providers.webhook_signing import signature_headers, signing_key

log = logging.getLogger(__name__)
USER_AGENT = "pushgate-events/1"
# How long an event is tried: a receiver down for a day has lost it.
MAX_AGE_MS = 24 * 3600 * 1000
# 30 s, doubling to an hour, jittered down by up to half (thundering receivers).
BACKOFF = Backoff(15.0, 3600.0)
# The ``type`` of a POST of forwarded interactions, beside the operational events' types.
FORWARD_TYPE = "interactions"


def event_body(event: OperationalEvent, tenant: str | None) -> bytes:
    """What the receiver gets (docs/operations.md, "Operational events")."""
    at = datetime.fromtimestamp(event.at / 1000, UTC).isoformat(timespec="milliseconds")
    body: dict[str, Any] = {
        "type": event.kind.value,
        "id": event.id,
        "at": at.replace("+00:00", "Z"),
        "tenant": tenant,
        "subject": {"type": event.subject_type.value, "id": event.subject_id},
        "data": dict(event.details),
    }
    return orjson.dumps(body)


def forward_body(batch: ForwardBatch, tenant: str | None) -> bytes:
    """What the receiver gets of forwarded interactions: the operational events' envelope
    (docs/reports.md, "Forwarding to the host system")."""
    body: dict[str, Any] = {
        "type": FORWARD_TYPE,
        "id": batch.id,
        "at": _iso(batch.at),
        "tenant": tenant,
        "subject": {"type": "app", "id": batch.app_id},
        "data": {
            "events": [
                {
                    "notification": e.notification,
                    "delivery": e.delivery,
                    "device": e.device,
                    "event": e.event,
                    "action_key": e.action_key,
                    "at": _iso(e.at),
                }
                for e in batch.events
            ]
        },
    }
    return orjson.dumps(body)


def _iso(at_ms: int) -> str:
    at = datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(timespec="milliseconds")
    return at.replace("+00:00", "Z")


class OpsWebhookSender:
    """Runs ``ops_webhook`` jobs; one pooled client for every tenant's webhook."""

    def __init__(
        self,
        events: OperationalEvents,
        webhooks: OperationalWebhooks,
        tenant_by_id: Callable[[str], Awaitable[Tenant | None]],
        options: ProviderOptions,
        *,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        self.events = events
        self.webhooks = webhooks
        self.tenant_by_id = tenant_by_id
        self.options = options
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.client = make_client(options, read_timeout=DEFAULT_TIMEOUT_SECONDS)

    async def close(self) -> None:
        await self.client.aclose()

    async def run(self, job: OpsWebhookJob, attempts: int) -> None:
        """POST the event once; raises :class:`Postpone` when it is to be tried again."""
        event = await self.events.event(job.event_id)
        if event is None or event.tenant_id is None:
            return  # purged, or the instance's own: no tenant's webhook to tell
        await self._send(
            event.tenant_id,
            event.id,
            event.at,
            f"operational event {event.id}",
            attempts,
            lambda tenant: event_body(event, tenant),
        )

    async def forward(self, batch: ForwardBatch, attempts: int) -> None:
        """POST a batch of recorded interactions once (core/interaction_forwarding.py);
        raises :class:`Postpone` when it is to be tried again."""
        await self._send(
            batch.tenant_id,
            batch.id,
            batch.at,
            f"interactions batch {batch.id}",
            attempts,
            lambda tenant: forward_body(batch, tenant),
        )

    async def _send(
        self,
        tenant_id: str,
        message_id: str,
        at: int,
        what: str,
        attempts: int,
        body_of: Callable[[str | None], bytes],
    ) -> None:
        """POST one message to the tenant's webhook; past MAX_AGE_MS a failure drops it
        (logged), before that it is tried again after a backoff."""
        target = await self.webhooks.target(tenant_id)
        if target is None:
            return  # the webhook was removed meanwhile
        tenant = await self.tenant_by_id(tenant_id)
        body = body_of(None if tenant is None else tenant.name)
        failure = await self._post(target.url, target.secret, message_id, body)
        if failure is None:
            return
        if self.clock.now_ms() - at >= MAX_AGE_MS:
            log.warning("%s dropped after %d attempts: %s", what, attempts, failure)
            return
        raise Postpone(BACKOFF.delay(attempts, self.rng), failure)

    async def _post(self, url: str, secret: str, event_id: str, body: bytes) -> str | None:
        """None when the receiver took it; else why not."""
        headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        stamp = int(self.options.clock())
        headers.update(signature_headers(signing_key(secret), event_id, stamp, body))
        try:
            async with asyncio.timeout(DEFAULT_TIMEOUT_SECONDS + self.options.connect_timeout):
                answer = await post(self.client, url, content=body, headers=headers)
        except PrivateTargetRefused as exc:
            return f"target refused: {exc}"
        except (httpx.TimeoutException, TimeoutError) as exc:
            return f"timeout: {type(exc).__name__}"
        except (httpx.TransportError, OSError) as exc:
            return short_reason(f"connection failed: {type(exc).__name__}", str(exc))
        if 200 <= answer.status < 300:
            return None
        return short_reason(f"webhook answered {answer.status}", answer.text())
