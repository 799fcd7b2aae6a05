"""The soak's plan, drawn from one seed: when each broadcast is sent and when each fault
strikes (docs/reliability.md "Soak").

Faults take turns, one per slot of the chaos window and in a shuffled order, each at a
random moment of its slot, so that each one's recovery can be read apart from the next.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class KillApi:
    """SIGKILL of the API process; a supervisor starts it again after ``restart_after``."""

    at: float
    restart_after: float
    kind: Literal["kill_api"] = "kill_api"


@dataclass(frozen=True, slots=True)
class KillWorker:
    """SIGKILL of worker ``which``; started again after ``restart_after``."""

    at: float
    which: int
    restart_after: float
    kind: Literal["kill_worker"] = "kill_worker"


@dataclass(frozen=True, slots=True)
class RestartPostgres:
    """``pg_ctl restart -m immediate``: every connection dropped, WAL replayed."""

    at: float
    kind: Literal["restart_postgres"] = "restart_postgres"


@dataclass(frozen=True, slots=True)
class FlushRedis:
    """``FLUSHALL``: every queued, delayed and leased job gone from Redis at once."""

    at: float
    kind: Literal["flush_redis"] = "flush_redis"


@dataclass(frozen=True, slots=True)
class KillRedis:
    """SIGKILL of Redis (no persistence: it comes back empty) after ``down_for`` seconds."""

    at: float
    down_for: float
    kind: Literal["kill_redis"] = "kill_redis"


@dataclass(frozen=True, slots=True)
class ProviderOutage:
    """The provider answers 503 ``ServiceUnavailable`` for ``refuse_for`` seconds, then
    closes every connection (HTTP/2 GOAWAY) for ``close_for`` seconds."""

    at: float
    refuse_for: float
    close_for: float
    kind: Literal["provider_outage"] = "provider_outage"


Fault = KillApi | KillWorker | RestartPostgres | FlushRedis | KillRedis | ProviderOutage


@dataclass(frozen=True, slots=True)
class Plan:
    """Seconds from the start of the chaos window: each broadcast's send, each fault."""

    seed: int
    broadcasts: tuple[float, ...]
    faults: tuple[Fault, ...]
    window: float


def make_plan(seed: int, broadcasts: int, slot_seconds: float, workers: int) -> Plan:
    """Two kills of the API, two of a worker, and one of every other fault, shuffled."""
    rng = random.Random(seed)
    kinds = [
        "kill_api",
        "kill_api",
        "kill_worker",
        "kill_worker",
        "restart_postgres",
        "flush_redis",
        "kill_redis",
        "provider_outage",
    ]
    rng.shuffle(kinds)
    lead_in = slot_seconds / 2
    faults = tuple(
        _fault(kind, lead_in + n * slot_seconds + rng.uniform(0, slot_seconds / 2), rng, workers)
        for n, kind in enumerate(kinds)
    )
    window = lead_in + len(kinds) * slot_seconds
    # Broadcasts spread over the window with jitter, so that work is in flight at most
    # moments a fault strikes.
    step = window / broadcasts
    sends = tuple(sorted(n * step + rng.uniform(0, step) for n in range(broadcasts)))
    return Plan(seed, sends, faults, window)


def _fault(kind: str, at: float, rng: random.Random, workers: int) -> Fault:
    match kind:
        case "kill_api":
            return KillApi(at, restart_after=rng.uniform(0.2, 1.0))
        case "kill_worker":
            return KillWorker(at, rng.randrange(workers), restart_after=rng.uniform(0.2, 1.0))
        case "restart_postgres":
            return RestartPostgres(at)
        case "flush_redis":
            return FlushRedis(at)
        case "kill_redis":
            return KillRedis(at, down_for=rng.uniform(2.0, 4.0))
        case "provider_outage":
            return ProviderOutage(at, refuse_for=rng.uniform(3.0, 5.0), close_for=3.0)
    raise ValueError(f"no fault {kind!r}")
