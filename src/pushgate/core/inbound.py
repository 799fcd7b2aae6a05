"""A host's request to ``POST /v1/inbound/{source}``, from its headers to a stored event
(docs/events.md, "Inbound sources").

What the headers alone decide is refused before a body is read, and what covers the body
before the body is parsed: :meth:`Inbound.admit` finds the source, refuses it paused, and
for a ``datanotifier`` checks the User-Agent and the JWT; :meth:`Inbound.verify` checks a
Standard Webhooks signature over the raw body; :meth:`Inbound.count` takes the verified
request from the source's rate limit; :meth:`Inbound.accept` maps the parsed body to an
event and records it through ``EventLog.record``, the one entry of events. Every refusal is
an :class:`InboundRefused`, whose reason the API answers in the source's own way
(core/inbound_refusals.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, assert_never

from pushgate.core import datanotifier, standard_webhooks
from pushgate.core.access import Caller
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.inbound_inputs import DataNotifierSource, StandardWebhooksSource
from pushgate.core.inbound_mapping import UnknownType, Unmappable, to_event
from pushgate.core.inbound_refusals import InboundRefused, Refusal
from pushgate.core.inbound_sources import Source, SourceCatalog
from pushgate.core.models import ApiKey, RateLimit, Scope, Tenant
from pushgate.core.rate_limits import RateLimited, RateLimits
from pushgate.core.record_events import EventLog, Recorded
from pushgate.errors import IdempotencyKeyReused, NotFound
from pushgate.outage import is_outage

TenantById = Callable[[str], Awaitable[Tenant | None]]


def source_caller(source: Source) -> Caller:
    """The source itself, recording in its tenant (so named in the audit log)."""
    key = ApiKey(
        source.id,
        source.tenant_id,
        f"source {source.key}",
        "source",
        "",
        frozenset({Scope.SEND}),
        source.created_at,
    )
    return Caller(key, "inbound")


@dataclass(frozen=True, slots=True)
class Admitted:
    source: Source
    tenant: Tenant


class Inbound:
    def __init__(
        self,
        sources: SourceCatalog,
        events: EventLog,
        limits: RateLimits,
        tenant_by_id: TenantById,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.sources = sources
        self.events = events
        self.limits = limits
        self.tenant_by_id = tenant_by_id
        self.clock = clock

    async def find(self, source_id: str) -> Source:
        try:
            found = await self.sources.by_id(source_id)
        except Exception as exc:
            if is_outage(exc):
                raise InboundRefused(Refusal.UNAVAILABLE, "storage is unavailable") from exc
            raise
        if found is None:
            raise InboundRefused(Refusal.UNKNOWN_SOURCE, f"no source {source_id[:64]!r}")
        return found

    async def admit(self, source: Source, headers: Mapping[str, str]) -> Admitted:
        """What the headers decide: paused, and a datanotifier's User-Agent and JWT."""
        spec = source.spec
        if spec.paused:
            raise InboundRefused(Refusal.PAUSED, "the source is paused", retry_after=60)
        match spec:
            case DataNotifierSource():
                datanotifier.check_user_agent(headers.get("user-agent"))
                token = datanotifier.token_of(headers.get("authorization"))
                datanotifier.check_token(token, spec.verification, self.clock)
            case StandardWebhooksSource():
                pass  # its signature covers the body: checked in ``accept``
            case _:
                assert_never(spec)
        tenant = await self.tenant_by_id(source.tenant_id)
        if tenant is None:  # deleted meanwhile, its sources with it
            raise InboundRefused(Refusal.UNKNOWN_SOURCE, "no such source")
        return Admitted(source, tenant)

    def verify(self, admitted: Admitted, headers: Mapping[str, str], raw: bytes) -> str | None:
        """Check what covers the body, before it is parsed; the idempotency key it gives
        (a Standard Webhooks ``webhook-id``), if any."""
        spec = admitted.source.spec
        match spec:
            case DataNotifierSource():
                return None  # its JWT was checked from the headers
            case StandardWebhooksSource():
                return standard_webhooks.verify(
                    spec.verification.key(),
                    headers.get("webhook-id"),
                    headers.get("webhook-timestamp"),
                    headers.get("webhook-signature"),
                    raw,
                    self.clock,
                )
            case _:
                assert_never(spec)

    async def count(self, admitted: Admitted) -> None:
        """Take the request from the source's own bucket: only once it verified, so that
        forged requests cannot spend the real host's budget."""
        limit = admitted.source.spec.rate_limit
        if limit is None:
            return
        try:
            await self.limits.admit_inbound(
                admitted.source.id, RateLimit(limit.per_second, limit.burst)
            )
        except RateLimited as exc:
            raise InboundRefused(
                Refusal.RATE_LIMITED, exc.message, retry_after=exc.retry_after_seconds
            ) from exc

    async def accept(self, admitted: Admitted, body: Any, key: str | None) -> Recorded:
        """Map a verified body (parsed by the API's input rules) to an event and store it;
        ``key`` wins over the mapping's idempotency key."""
        source = admitted.source
        spec = source.spec
        if not isinstance(body, dict):
            raise InboundRefused(Refusal.MALFORMED_JSON, "the body is not a JSON object")
        try:
            event = to_event(spec.mapping, body, spec.app)
        except UnknownType as exc:
            raise InboundRefused(Refusal.UNKNOWN_TYPE, exc.message) from exc
        except Unmappable as exc:
            raise InboundRefused(Refusal.UNMAPPABLE, exc.message) from exc
        try:
            return await self.events.record(source_caller(source), admitted.tenant, event, key)
        except IdempotencyKeyReused as exc:
            raise InboundRefused(Refusal.KEY_REUSED, exc.message) from exc
        except NotFound as exc:  # the source's app was deleted since
            raise InboundRefused(Refusal.UNMAPPABLE, exc.message) from exc
        except Exception as exc:
            if is_outage(exc):
                raise InboundRefused(Refusal.UNAVAILABLE, "storage is unavailable") from exc
            raise
