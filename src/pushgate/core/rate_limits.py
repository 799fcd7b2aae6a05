"""Which limits a request meets, and the refusal when one is spent.

Every authenticated request takes a token from its key's bucket, then from its tenant's
(the tenant the key belongs to; instance-wide keys have none). A send also takes one from
the tenant's sends bucket and, once its audience is counted, adds the devices it targets
to the tenant's deliveries of the UTC day. A send that would pass the day's limit is
refused whole: a part of a broadcast would reach an arbitrary part of its audience.
Limits not set are not checked at all. See docs/architecture.md §6.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pushgate.core.models import ApiKey, RateLimit, Tenant
from pushgate.core.ratelimit import DAY_MS, Limiter, Taken
from pushgate.errors import PushgateError


class LimitKind(StrEnum):
    """Which limit; also the policy's name in the RateLimit headers."""

    KEY = "key"
    TENANT = "tenant"
    SENDS = "sends"
    DELIVERIES_PER_DAY = "deliveries_per_day"
    ANSWER_DEVICE = "answer_device"
    ANSWER_APP = "answer_app"
    INTERACTION_DEVICE = "interaction_device"
    INTERACTION_APP = "interaction_app"
    RELAY_ORIGIN = "relay_origin"
    RELAY_ORIGIN_DAY = "relay_origin_day"
    INBOUND_SOURCE = "inbound_source"


# Answers to actions come without an API key (docs/actions.md, "Answering a
# notification"), so their buckets are fixed, not set per key: a device taps a button now
# and then (a person clearing a queue of approvals taps about once a second), and an app's
# devices answer a broadcast with actions within minutes. Both are counted only once the
# response token verified, so forged tokens cannot spend a real device's or app's budget.
ANSWER_DEVICE_LIMIT = RateLimit(per_second=1.0, burst=20)
ANSWER_APP_LIMIT = RateLimit(per_second=200.0, burst=2000)
# Interactions (docs/reports.md) are counted per event, not per request: a device reports
# a few events per push, and one that was offline sends its backlog in batches of 100; an
# app's devices report a broadcast's receipt and opens within minutes. Counted only once
# the events' tokens verified, as answers are.
INTERACTION_DEVICE_LIMIT = RateLimit(per_second=2.0, burst=300)
INTERACTION_APP_LIMIT = RateLimit(per_second=10_000.0, burst=1_000_000)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One limit's answer to one request."""

    kind: LimitKind
    #: Requests allowed at once (a bucket's burst), or deliveries a day.
    quota: int
    #: The seconds in which the quota refills from empty.
    window_seconds: int
    taken: Taken

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds, rounded up (Retry-After takes delay-seconds, RFC 9110 §10.2.3)."""
        return math.ceil(self.taken.retry_ms / 1000)

    @property
    def reset_seconds(self) -> int:
        return math.ceil(self.taken.reset_ms / 1000)


class RateLimited(PushgateError):
    """A rate limit is spent; ``verdicts`` are the limits the request met, the refusing
    one last."""

    code = "rate_limited"

    def __init__(
        self, message: str, verdicts: tuple[Verdict, ...], details: dict[str, Any]
    ) -> None:
        super().__init__(message, details=details)
        self.verdicts = verdicts

    @property
    def retry_after_seconds(self) -> int:
        return max(1, self.verdicts[-1].retry_after_seconds)


TenantById = Callable[[str], Awaitable[Tenant | None]]


class RateLimits:
    """Takes from the buckets a request and a send meet, in a limiter that keeps them."""

    def __init__(
        self,
        limiter: Limiter,
        tenant_by_id: TenantById,
        *,
        clock: Callable[[], float] = time.time,
        answer_device_limit: RateLimit = ANSWER_DEVICE_LIMIT,
        answer_app_limit: RateLimit = ANSWER_APP_LIMIT,
        interaction_device_limit: RateLimit = INTERACTION_DEVICE_LIMIT,
        interaction_app_limit: RateLimit = INTERACTION_APP_LIMIT,
    ) -> None:
        self.limiter = limiter
        self.interaction_device_limit = interaction_device_limit
        self.interaction_app_limit = interaction_app_limit
        self.answer_device_limit = answer_device_limit
        self.answer_app_limit = answer_app_limit
        self._tenant_by_id = tenant_by_id
        self._clock = clock

    async def admit(self, key: ApiKey) -> tuple[Verdict, ...]:
        """Take one request from the key's bucket, then its tenant's; refused with
        ``RateLimited`` when either is empty."""
        met: list[Verdict] = []
        if key.rate_limit is not None:
            await self._take(met, LimitKind.KEY, f"key:{key.id}", key.rate_limit, 1)
        if key.tenant_id is not None:
            tenant = await self._tenant_by_id(key.tenant_id)
            if tenant is not None and tenant.rate_limit is not None:
                await self._take(met, LimitKind.TENANT, f"tenant:{tenant.id}", tenant.rate_limit, 1)
        return tuple(met)

    async def admit_send(self, tenant: Tenant) -> tuple[Verdict, ...]:
        """Take one send from the tenant's sends bucket."""
        met: list[Verdict] = []
        if tenant.send_rate_limit is not None:
            await self._take(met, LimitKind.SENDS, f"sends:{tenant.id}", tenant.send_rate_limit, 1)
        return tuple(met)

    async def admit_answer(self, device_id: str) -> tuple[Verdict, ...]:
        """Take one answer from the answering device's bucket."""
        met: list[Verdict] = []
        limit = self.answer_device_limit
        await self._take(met, LimitKind.ANSWER_DEVICE, f"answer-device:{device_id}", limit, 1)
        return tuple(met)

    async def admit_app_answer(self, app_id: str) -> tuple[Verdict, ...]:
        """Take one answer from the answered app's bucket."""
        met: list[Verdict] = []
        await self._take(
            met, LimitKind.ANSWER_APP, f"answer-app:{app_id}", self.answer_app_limit, 1
        )
        return tuple(met)

    async def admit_interactions(self, device_id: str, events: int) -> tuple[Verdict, ...]:
        """Take ``events`` from the reporting device's bucket."""
        met: list[Verdict] = []
        bucket = f"interaction-device:{device_id}"
        await self._take(
            met, LimitKind.INTERACTION_DEVICE, bucket, self.interaction_device_limit, events
        )
        return tuple(met)

    async def admit_app_interactions(self, app_id: str, events: int) -> tuple[Verdict, ...]:
        """Take ``events`` from the reported app's bucket."""
        met: list[Verdict] = []
        bucket = f"interaction-app:{app_id}"
        await self._take(met, LimitKind.INTERACTION_APP, bucket, self.interaction_app_limit, events)
        return tuple(met)

    async def admit_inbound(self, source_id: str, limit: RateLimit) -> tuple[Verdict, ...]:
        """Take one request from an inbound source's own bucket (docs/events.md)."""
        met: list[Verdict] = []
        await self._take(met, LimitKind.INBOUND_SOURCE, f"inbound:{source_id}", limit, 1)
        return tuple(met)

    async def admit_deliveries(self, tenant: Tenant, targeted: int) -> tuple[Verdict, ...]:
        """Add ``targeted`` deliveries to the tenant's UTC day; refused whole past the limit."""
        limit = tenant.deliveries_per_day
        if limit is None or targeted <= 0:
            return ()
        taken = await self.limiter.count_day(
            f"deliveries:{tenant.id}", limit, targeted, self._now()
        )
        if taken is None:
            return ()
        verdict = Verdict(LimitKind.DELIVERIES_PER_DAY, limit, DAY_MS // 1000, taken)
        if not taken.allowed:
            raise RateLimited(
                f"this send targets {targeted} devices; the tenant may reach {taken.remaining}"
                f" more today (of {limit} a UTC day)",
                (verdict,),
                {
                    "limit": LimitKind.DELIVERIES_PER_DAY.value,
                    "deliveries_per_day": limit,
                    "remaining": taken.remaining,
                    "targeted": targeted,
                    "retry_after": verdict.retry_after_seconds,
                },
            )
        return (verdict,)

    async def admit_relay(
        self, origin_id: str, limit: RateLimit | None, per_day: int | None, cost: int
    ) -> int:
        """How many of ``cost`` messages an origin may relay now (docs/relay.md,
        "Quotas"): as many as its bucket and its UTC day still hold, the rest to be
        retried. Refused with ``RateLimited`` when not one may go."""
        allowed = cost
        if limit is not None:
            allowed = await self._take_up_to(
                LimitKind.RELAY_ORIGIN, f"relay:{origin_id}", limit, allowed
            )
        if per_day is not None:
            now = self._now()
            counter = f"relay-day:{origin_id}"
            taken = await self.limiter.count_day(counter, per_day, allowed, now)
            if taken is not None and not taken.allowed:
                fits = min(allowed, taken.remaining)
                if fits > 0:
                    taken = await self.limiter.count_day(counter, per_day, fits, now) or taken
                if fits <= 0 or not taken.allowed:
                    verdict = Verdict(LimitKind.RELAY_ORIGIN_DAY, per_day, DAY_MS // 1000, taken)
                    raise RateLimited(
                        f"the origin's {per_day} messages of this UTC day are spent",
                        (verdict,),
                        {
                            "limit": LimitKind.RELAY_ORIGIN_DAY.value,
                            "per_day": per_day,
                            "retry_after": verdict.retry_after_seconds,
                        },
                    )
                allowed = fits
        return allowed

    async def _take_up_to(self, kind: LimitKind, bucket: str, limit: RateLimit, cost: int) -> int:
        """Take ``cost`` tokens, or as many as the bucket holds; raise when it holds none."""
        taken = await self.limiter.take(bucket, limit, cost, self._now())
        if taken is None or taken.allowed:
            return cost
        fits = min(cost, taken.remaining)
        if fits > 0:
            again = await self.limiter.take(bucket, limit, fits, self._now())
            if again is None or again.allowed:
                return fits
        await self._take([], kind, bucket, limit, 1)  # refuses, with the wait
        return 1

    async def _take(
        self, met: list[Verdict], kind: LimitKind, bucket: str, limit: RateLimit, cost: int
    ) -> None:
        taken = await self.limiter.take(bucket, limit, cost, self._now())
        if taken is None:
            return
        window = max(1, math.ceil(limit.burst / limit.per_second))
        verdict = Verdict(kind, limit.burst, window, taken)
        met.append(verdict)
        if not taken.allowed:
            raise RateLimited(
                f"the {_NAMES[kind]} rate limit is spent ({limit.per_second:g}/s, burst"
                f" {limit.burst}); retry in {max(1, verdict.retry_after_seconds)} s",
                tuple(met),
                {
                    "limit": kind.value,
                    "per_second": limit.per_second,
                    "burst": limit.burst,
                    "retry_after": max(1, verdict.retry_after_seconds),
                },
            )

    def _now(self) -> float:
        return self._clock() * 1000

    async def close(self) -> None:
        await self.limiter.close()


_NAMES = {
    LimitKind.KEY: "key's",
    LimitKind.TENANT: "tenant's",
    LimitKind.SENDS: "tenant's sends",
    LimitKind.DELIVERIES_PER_DAY: "tenant's deliveries",
    LimitKind.ANSWER_DEVICE: "device's answers",
    LimitKind.ANSWER_APP: "app's answers",
    LimitKind.INTERACTION_DEVICE: "device's interactions",
    LimitKind.INTERACTION_APP: "app's interactions",
    LimitKind.RELAY_ORIGIN: "origin's",
    LimitKind.RELAY_ORIGIN_DAY: "origin's daily",
    LimitKind.INBOUND_SOURCE: "source's",
}
