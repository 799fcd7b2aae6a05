"""The relay side of relaying (docs/relay.md): take an origin's batch, send it through the
relay app's provider clients with the origin's identity stamped in, answer per message.

The key decides who the origin is (``core/relay_origins.py``). A batch is admitted as far
as the origin's quota holds; the rest is answered ``retry`` with the wait. A message id is
claimed in this process's memory before it is sent, and its final answer is written with
the batch's counts in one transaction after the answer (``relay_accepted``): a batch the
origin sends again, after an answer it never saw, gets the first answers rather than a
second push, and a copy that comes while the first is still being sent is answered
``retry``. An id answered ``retry`` is not kept, since the origin will send it again and it
must then go out. Across processes only what is written holds: two processes given the
same id at the same moment can both send it (docs/relay.md, "Security model").

The answer comes when the providers answered, within :data:`SYNC_BOUND_SECONDS` (or the
origin's ``Prefer: wait``, RFC 7240 §4.3); a longer send, or a request that prefers
``respond-async``, is answered 202 with the batch's id, and its answers are kept for the
origin to read at ``GET /v1/relay/{app}/batches/{id}`` (docs/relay.md, "Long sends").
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from pushgate.core.access import Caller
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.ids import new_id
from pushgate.core.models import App, Scope, Tenant
from pushgate.core.notifications import DeviceAddress
from pushgate.core.outcomes import Outcome, retry
from pushgate.core.rate_limits import RateLimited, RateLimits
from pushgate.core.ratelimit import day_of
from pushgate.core.registry import Registry
from pushgate.core.relay_origins import Origin, RelayStorePort
from pushgate.core.relay_wire import (
    Accepted,
    Answered,
    RelayAnswer,
    RelayBatch,
    RelayMessage,
    RelayResult,
    answer_of,
    message_from_wire,
    stamped_identity,
)
from pushgate.core.ttlcache import TtlCache
from pushgate.delivery.metrics import DeliveryMetrics
from pushgate.delivery.providers import ProviderCache
from pushgate.delivery.relay_claims import Claims
from pushgate.errors import Forbidden, NotFound
from pushgate.providers.base import Delivery, Provider
from pushgate.providers.sending import failure_outcome

log = logging.getLogger(__name__)

# An accepted id is kept this long past its message's expiry: the origin stops retrying
# at the expiry, so no repeat can come later than that.
KEEP_AFTER_EXPIRY_MS = 3_600_000
PURGE_EVERY_MS = 60_000
# A message whose first copy is still in flight is answered "retry" after this long.
IN_FLIGHT_RETRY_SECONDS = 5.0
PAUSED_RETRY_SECONDS = 30.0
# The longest a request waits for its answers before the batch is answered 202: below the
# provider clients' own request timeouts (30 s) and well below the origin's read timeout
# (60 s, providers/relay.py), so a slow provider costs the origin a poll, not a timeout.
SYNC_BOUND_SECONDS = 20.0
# What a 202 and a poll of a batch still being sent say in Retry-After.
POLL_AFTER_SECONDS = 1
# Shutdown waits this long for sends still running: the provider clients' own bound.
DRAIN_SECONDS = 30.0


class RelayService:
    """``POST /v1/relay/{app}/messages`` and ``GET /v1/relay/{app}/batches/{id}``."""

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
        sync_bound: float = SYNC_BOUND_SECONDS,
    ) -> None:
        self.store = store
        self.registry = registry
        self.tenant_by_id = tenant_by_id
        self.providers = providers
        self.limits = limits
        self.metrics = metrics
        self.clock = clock
        self.sync_bound = sync_bound
        # A revoked key stops at the key cache; an origin's changes show within a second.
        self._origins: TtlCache[str, Origin | None] = TtlCache(1.0)
        # The relay app's clients and pauses, read once a second rather than once a batch:
        # new or paused credentials show within that second.
        self._clients: TtlCache[tuple[str, str], tuple[Provider | None, str | None]] = TtlCache(1.0)
        self._purged_at = 0
        self._claims = Claims()
        # Sends that outlived their request (answered 202, or the origin hung up): held
        # here so they run to their end and write their answers.
        self._running: set[asyncio.Task[Any]] = set()

    async def origin_of(self, caller: Caller) -> Origin:
        if Scope.RELAY not in caller.key.scopes:
            raise Forbidden("this key lacks the relay scope", details={"required": ["relay"]})
        key_id = caller.key.id
        found = await self._origins.get(key_id, lambda: self.store.origin_of_key(key_id))
        if found is None:
            raise Forbidden("this relay key is bound to no origin")
        return found

    async def relay(
        self,
        caller: Caller,
        app_name: str,
        batch: RelayBatch,
        *,
        respond_async: bool = False,
        wait: float | None = None,
    ) -> RelayResult:
        """Send the batch; its answers, or :class:`Accepted` when the request preferred
        ``respond-async`` or the send outlasted the bound (``wait``, if shorter)."""
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
        self._purge(now)
        head, tail = messages[:admitted], messages[admitted:]
        # What the quota did not admit waits for the bucket: about one interval a message.
        wait_quota = _quota_wait(origin, len(tail))
        waiting = {
            item.id: RelayAnswer(id=item.id, outcome="retry", retry_after=wait_quota)
            for item in tail
        }
        sending = self._keep(self._send(origin, app, head, now, waiting))
        if not respond_async:
            bound = self.sync_bound if wait is None else max(0.0, min(wait, self.sync_bound))
            # Not wait_for: a request that ends (bound, hang-up) must not cancel the send.
            done, _ = await asyncio.wait({sending}, timeout=bound)
            if done:
                answers = sending.result()
                return Answered([answers[item.id] for item in messages])
        batch_id = new_id()
        keep = max(item.expires_at for item in messages) + KEEP_AFTER_EXPIRY_MS
        await self.store.open_batch(batch_id, origin.id, now, max(keep, now))
        self._keep(self._finish(batch_id, origin, messages, sending))
        return Accepted(batch_id, POLL_AFTER_SECONDS)

    async def batch(self, caller: Caller, app_name: str, batch_id: str) -> RelayResult:
        """A batch answered 202, for the origin that sent it only: its answers, or
        :class:`Accepted` while it is still being sent."""
        origin = await self.origin_of(caller)
        await self._app(origin, app_name)
        found = await self.store.batch(origin.id, batch_id)
        if found is None:
            raise NotFound(f"batch {batch_id!r} not found", details={"batch": batch_id})
        if found.answers is None:
            return Accepted(batch_id, POLL_AFTER_SECONDS)
        return Answered([RelayAnswer.model_validate(answer) for answer in found.answers])

    def _keep(self, work: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def _finish(
        self,
        batch_id: str,
        origin: Origin,
        messages: Sequence[RelayMessage],
        sending: asyncio.Task[dict[str, RelayAnswer]],
    ) -> None:
        try:
            answers = await sending
            ordered = [answers[item.id].model_dump(exclude_none=True) for item in messages]
            await self.store.finish_batch(batch_id, origin.id, ordered)
        except Exception:
            # The batch stays "sending"; the origin stops polling at its bound and
            # sends again, and what was written answers the repeat.
            log.exception("a relayed batch answered 202 did not finish")

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
        """Send what was admitted and answer; its final answers and the batch's counts
        (``waiting``: the answers of what the quota held back) are written in one
        transaction after the answer, the ids held in memory until that write is done."""
        unique = list({item.id: item for item in messages}.values())
        # Claimed before the first await: a copy arriving meanwhile finds the claim.
        mine = self._claims.take(origin.id, [item.id for item in unique])
        try:
            answers, final, counts = await self._send_claimed(origin, app, unique, mine, now)
        except BaseException:
            self._claims.release(origin.id, mine)
            raise
        answers.update(waiting)
        counts.update(answer.outcome for answer in waiting.values())
        for outcome, n in counts.items():
            self.metrics.relayed(origin.instance_id, outcome, n)
        if waiting:
            counts["quota"] += 1
            self.metrics.relay_quota_hit(origin.instance_id)
        # The write is off the answer's path (docs/relay.md, "Answering within a bound"):
        # a repeat meanwhile finds the claim, and after it the written answer.
        self._keep(self._settle(origin, mine, final, dict(counts)))
        return answers

    async def _settle(
        self,
        origin: Origin,
        mine: set[str],
        final: list[tuple[str, dict[str, Any], int]],
        counts: dict[str, int],
    ) -> None:
        try:
            await self.store.settle(origin.id, final, self._day(), counts)
        except Exception:
            # The answers went out; what is lost is the record against a repeat after
            # this process ends, and the day's counts.
            log.exception("writing a relayed batch's answers failed")
        finally:
            self._claims.release(origin.id, mine)

    async def _send_claimed(
        self,
        origin: Origin,
        app: App,
        unique: list[RelayMessage],
        mine: set[str],
        now: int,
    ) -> tuple[dict[str, RelayAnswer], list[tuple[str, dict[str, Any], int]], Counter[str]]:
        """The answers of what was admitted, the final ones to keep, their counts."""
        earlier = await self.store.answers_of(origin.id, [i.id for i in unique if i.id in mine])
        answers: dict[str, RelayAnswer] = {}
        fresh: dict[str, list[RelayMessage]] = defaultdict(list)
        for item in unique:
            if item.id not in mine:
                answers[item.id] = RelayAnswer(
                    id=item.id,
                    outcome="retry",
                    retry_after=IN_FLIGHT_RETRY_SECONDS,
                    reason="the first copy is still being sent",
                )
            elif item.id in earlier:
                answers[item.id] = RelayAnswer.model_validate(earlier[item.id])
            else:
                fresh[item.provider.value].append(item)
        sent = await asyncio.gather(
            *(self._send_kind(origin, app, kind, items) for kind, items in fresh.items())
        )
        keep = {item.id: max(item.expires_at, now) + KEEP_AFTER_EXPIRY_MS for item in unique}
        final: list[tuple[str, dict[str, Any], int]] = []
        for part in sent:
            for answer in part:
                answers[answer.id] = answer
                if answer.outcome != "retry":
                    final.append((answer.id, answer.model_dump(exclude_none=True), keep[answer.id]))
        return answers, final, Counter(answer.outcome for answer in answers.values())

    async def _send_kind(
        self, origin: Origin, app: App, kind: str, items: list[RelayMessage]
    ) -> list[RelayAnswer]:
        found = await self._clients.get(
            (app.id, kind), lambda: self.providers.get(app.tenant_id, app.id, kind)
        )
        provider, paused = found if found is not None else (None, None)
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

    def _purge(self, now: int) -> None:
        """Forget what is past its window, now and then, off the request's path."""
        if now - self._purged_at < PURGE_EVERY_MS:
            return
        self._purged_at = now
        self._keep(self._forget(now))

    async def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Let the sends and writes still running end (at shutdown, and in tests that
        read what a batch wrote), for at most ``seconds``."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=seconds)

    async def _forget(self, now: int) -> None:
        try:
            await self.store.purge_accepted(now)
        except Exception:  # tried again at the next purge
            log.exception("purging relayed ids failed")

    def _day(self) -> int:
        return day_of(self.clock.now_ms())


def _quota_wait(origin: Origin, waiting: int) -> float:
    if not waiting:
        return 0.0
    if origin.rate_limit is None:
        return 60.0  # the day's quota: try again in a minute, cheaply refused until then
    return float(max(1, math.ceil(waiting / origin.rate_limit.per_second)))
