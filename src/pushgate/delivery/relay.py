"""The relay side of relaying (docs/relay.md): take an origin's batch, send it through the
relay app's provider clients with the origin's identity stamped in, answer per message.

The key decides who the origin is (``core/relay_origins.py``). A batch is admitted as far
as the origin's quota holds; the rest is answered ``retry`` with the wait. Each message id
is claimed before it is sent (``relay_accepted``), so a batch the origin sends again, after
an answer it never saw, gets the first answers rather than a second push; an id answered
``retry`` is let go, since the origin will send it again and it must then go out. The
answer comes when the providers answered: the provider clients' own request timeouts bound
it (``ProviderOptions.request_timeout``, 30 s), and origins wait longer than that.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from pushgate.core.access import Caller
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.models import App, Scope, Tenant
from pushgate.core.notifications import DeviceAddress
from pushgate.core.outcomes import Outcome, retry
from pushgate.core.rate_limits import RateLimited, RateLimits
from pushgate.core.ratelimit import day_of
from pushgate.core.registry import Registry
from pushgate.core.relay_origins import Origin, RelayStorePort
from pushgate.core.relay_wire import (
    RelayAnswer,
    RelayBatch,
    RelayMessage,
    answer_of,
    message_from_wire,
    stamped_identity,
)
from pushgate.core.ttlcache import TtlCache
from pushgate.delivery.metrics import DeliveryMetrics
from pushgate.delivery.providers import ProviderCache
from pushgate.errors import Forbidden, NotFound
from pushgate.providers.base import Delivery
from pushgate.providers.sending import failure_outcome

# An accepted id is kept this long past its message's expiry: the origin stops retrying
# at the expiry, so no repeat can come later than that.
KEEP_AFTER_EXPIRY_MS = 3_600_000
PURGE_EVERY_MS = 60_000
# A message whose first copy is still in flight is answered "retry" after this long.
IN_FLIGHT_RETRY_SECONDS = 5.0
PAUSED_RETRY_SECONDS = 30.0


class RelayService:
    """``POST /v1/relay/{app}/messages``."""

    def __init__(
        self,
        store: RelayStorePort,
        registry: Registry,
        tenant_by_id: Any,
        providers: ProviderCache,
        limits: RateLimits,
        metrics: DeliveryMetrics,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.registry = registry
        self.tenant_by_id = tenant_by_id
        self.providers = providers
        self.limits = limits
        self.metrics = metrics
        self.clock = clock
        # A revoked key stops at the key cache; an origin's changes show within a second.
        self._origins: TtlCache[str, Origin | None] = TtlCache(1.0)
        self._purged_at = 0

    async def origin_of(self, caller: Caller) -> Origin:
        if Scope.RELAY not in caller.key.scopes:
            raise Forbidden("this key lacks the relay scope", details={"required": ["relay"]})
        key_id = caller.key.id
        found = await self._origins.get(key_id, lambda: self.store.origin_of_key(key_id))
        if found is None:
            raise Forbidden("this relay key is bound to no origin")
        return found

    async def relay(self, caller: Caller, app_name: str, batch: RelayBatch) -> list[RelayAnswer]:
        origin = await self.origin_of(caller)
        app = await self._app(origin, app_name)
        messages = batch.messages
        try:
            admitted = await self.limits.admit_relay(
                origin.id, origin.rate_limit, origin.per_day, len(messages)
            )
        except RateLimited:
            self.metrics.relay_quota_hit(origin.instance_id)
            await self.store.add_counts(origin.id, self._day(), {"quota": 1})
            raise
        now = self.clock.now_ms()
        await self._purge(now)
        head, tail = messages[:admitted], messages[admitted:]
        # What the quota did not admit waits for the bucket: about one interval a message.
        wait = _quota_wait(origin, len(tail))
        waiting = {
            item.id: RelayAnswer(id=item.id, outcome="retry", retry_after=wait) for item in tail
        }
        answers = await self._send(origin, app, head, now, waiting)
        return [answers[item.id] for item in messages]

    async def _app(self, origin: Origin, name: str) -> App:
        tenant: Tenant | None = await self.tenant_by_id(origin.tenant_id)
        if tenant is None:
            raise NotFound(f"app {name!r} not found", details={"app": name})
        app = await self.registry.app(tenant, name)
        if not app.relay or name not in origin.apps:
            raise Forbidden(
                f"this origin may not relay through app {name!r}", details={"app": name}
            )
        return app

    async def _send(
        self,
        origin: Origin,
        app: App,
        messages: Sequence[RelayMessage],
        now: int,
        waiting: dict[str, RelayAnswer],
    ) -> dict[str, RelayAnswer]:
        """Send what was admitted; settle its answers and the batch's counts (``waiting``:
        the answers of what the quota held back) in one write."""
        unique = list({item.id: item for item in messages}.values())
        keep = {item.id: max(item.expires_at, now) + KEEP_AFTER_EXPIRY_MS for item in unique}
        earlier = await self.store.claim(origin.id, [item.id for item in unique], keep)
        answers: dict[str, RelayAnswer] = {}
        fresh: dict[str, list[RelayMessage]] = defaultdict(list)
        for item in unique:
            if item.id not in earlier:
                fresh[item.provider.value].append(item)
                continue
            first = earlier[item.id]
            answers[item.id] = (
                RelayAnswer.model_validate(first)
                if first is not None
                else RelayAnswer(
                    id=item.id,
                    outcome="retry",
                    retry_after=IN_FLIGHT_RETRY_SECONDS,
                    reason="the first copy is still being sent",
                )
            )
        sent = await asyncio.gather(
            *(self._send_kind(origin, app, kind, items) for kind, items in fresh.items())
        )
        final: dict[str, dict[str, Any]] = {}
        released: list[str] = []
        for part in sent:
            for answer in part:
                answers[answer.id] = answer
                if answer.outcome == "retry":
                    released.append(answer.id)
                else:
                    final[answer.id] = answer.model_dump(exclude_none=True)
        answers.update(waiting)
        counts: Counter[str] = Counter(answer.outcome for answer in answers.values())
        for outcome, n in counts.items():
            self.metrics.relayed(origin.instance_id, outcome, n)
        if waiting:
            counts["quota"] += 1
            self.metrics.relay_quota_hit(origin.instance_id)
        await self.store.settle(origin.id, final, released, self._day(), dict(counts))
        return answers

    async def _send_kind(
        self, origin: Origin, app: App, kind: str, items: list[RelayMessage]
    ) -> list[RelayAnswer]:
        provider, paused = await self.providers.get(app.tenant_id, app.id, kind)
        if provider is None:
            reason = f"the relay app has no {kind} credentials"
            return [RelayAnswer(id=item.id, outcome="rejected", reason=reason) for item in items]
        if paused is not None:
            why = f"relay {kind} credentials paused: {paused}"
            outcome = retry(why, PAUSED_RETRY_SECONDS)
            return [answer_of(item.id, outcome) for item in items]
        batch = [self._delivery(origin, item) for item in items]
        try:
            with self.metrics.timing(kind):
                outcomes: Sequence[Outcome] = await provider.send(batch)
        except Exception as exc:
            outcomes = [failure_outcome(exc)] * len(batch)
        return [answer_of(item.id, outcome) for item, outcome in zip(items, outcomes, strict=True)]

    def _delivery(self, origin: Origin, item: RelayMessage) -> Delivery:
        """The origin's delivery, stamped with the instance its key stands for; the relay
        keeps nothing of the device (its id is the message's)."""
        device = DeviceAddress(item.id, item.token, item.keys, None, None)
        identity = stamped_identity(item.identity, origin.instance_id, origin.instance_name)
        return Delivery(
            item.id,
            device,
            message_from_wire(item),
            item.expires_at,
            item.created_at,
            item.now_or_never,
            identity,
        )

    async def _purge(self, now: int) -> None:
        if now - self._purged_at < PURGE_EVERY_MS:
            return
        self._purged_at = now
        await self.store.purge_accepted(now)

    def _day(self) -> int:
        return day_of(self.clock.now_ms())


def _quota_wait(origin: Origin, waiting: int) -> float:
    if not waiting:
        return 0.0
    if origin.rate_limit is None:
        return 60.0  # the day's quota: try again in a minute, cheaply refused until then
    return float(max(1, math.ceil(waiting / origin.rate_limit.per_second)))
