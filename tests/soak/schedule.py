"""The soak's plan, drawn from one seed: which faults strike in which order, when, and
when each broadcast is sent (docs/reliability.md "Soak").

Faults take turns in a shuffled order, a random pause after the previous one has
recovered, so that each one's recovery can be read apart from the next. Each strikes a
random moment of a broadcast of its own, once a random share of its devices has been
delivered, so work is in flight when it does (a kill of the API, within the request's first
moments instead, so that its answer may be lost; a provider outage, as the broadcast starts,
so that its deliveries are refused). The other broadcasts go out on their own
clock, through the faults.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class KillApi:
    """SIGKILL of the API process; a supervisor starts it again after ``restart_after``."""

    restart_after: float
    kind: Literal["kill_api"] = "kill_api"


@dataclass(frozen=True, slots=True)
class KillWorker:
    """SIGKILL of worker ``which``; started again after ``restart_after``."""

    which: int
    restart_after: float
    kind: Literal["kill_worker"] = "kill_worker"


@dataclass(frozen=True, slots=True)
class RestartPostgres:
    """``pg_ctl restart -m immediate``: every connection dropped, WAL replayed."""

    kind: Literal["restart_postgres"] = "restart_postgres"


@dataclass(frozen=True, slots=True)
class FlushRedis:
    """``FLUSHALL``: every queued, delayed and leased job gone from Redis at once."""

    kind: Literal["flush_redis"] = "flush_redis"


@dataclass(frozen=True, slots=True)
class KillRedis:
    """SIGKILL of Redis (no persistence: it comes back empty) after ``down_for`` seconds."""

    down_for: float
    kind: Literal["kill_redis"] = "kill_redis"


@dataclass(frozen=True, slots=True)
class ProviderOutage:
    """The provider answers 503 ``ServiceUnavailable`` for ``refuse_for`` seconds, then
    closes every connection (HTTP/2 GOAWAY) for ``close_for`` seconds."""

    refuse_for: float
    close_for: float
    kind: Literal["provider_outage"] = "provider_outage"


Fault = KillApi | KillWorker | RestartPostgres | FlushRedis | KillRedis | ProviderOutage


@dataclass(frozen=True, slots=True)
class Strike:
    """A fault, ``pause`` seconds after the previous one ended, ``delay`` seconds after
    its own broadcast was sent and once ``share`` of its devices have received it."""

    fault: Fault
    pause: float
    delay: float
    share: float


@dataclass(frozen=True, slots=True)
class Plan:
    seed: int
    strikes: tuple[Strike, ...]
    # Seconds from the start of the chaos window, for the broadcasts not tied to a fault.
    sends: tuple[float, ...]
    window: float  # over which those are spread


KINDS = (
    "kill_api",
    "kill_api",
    "kill_worker",
    "kill_worker",
    "restart_postgres",
    "flush_redis",
    "kill_redis",
    "provider_outage",
)


def make_plan(seed: int, broadcasts: int, window: float, workers: int) -> Plan:
    """Two kills of the API, two of a worker, and one of every other fault, shuffled; the
    broadcasts beyond one per fault spread over ``window`` with jitter."""
    if broadcasts < len(KINDS):
        raise ValueError(f"at least {len(KINDS)} broadcasts: one for each fault")
    rng = random.Random(seed)
    kinds = list(KINDS)
    rng.shuffle(kinds)
    strikes = tuple(_strike(kind, rng, workers) for kind in kinds)
    free = broadcasts - len(kinds)
    step = window / max(free, 1)
    sends = tuple(sorted(n * step + rng.uniform(0, step) for n in range(free)))
    return Plan(seed, strikes, sends, window)


def _strike(kind: str, rng: random.Random, workers: int) -> Strike:
    pause = rng.uniform(2.0, 6.0)
    match kind:
        case "kill_api":
            # While the broadcast's request may still be in the server's hands.
            return Strike(KillApi(rng.uniform(0.2, 1.0)), pause, rng.uniform(0, 0.06), 0.0)
        case "kill_worker":
            fault: Fault = KillWorker(rng.randrange(workers), restart_after=rng.uniform(0.2, 1.0))
        case "restart_postgres":
            fault = RestartPostgres()
        case "flush_redis":
            fault = FlushRedis()
        case "kill_redis":
            fault = KillRedis(down_for=rng.uniform(2.0, 4.0))
        case "provider_outage":
            # From the broadcast's start, so that its deliveries meet the 503s: struck
            # once a share was delivered, the rest had mostly gone before the refusals.
            outage = ProviderOutage(refuse_for=rng.uniform(3.0, 5.0), close_for=3.0)
            return Strike(outage, pause, 0.0, 0.0)
        case _:
            raise ValueError(f"no fault {kind!r}")
    return Strike(fault, pause, 0.0, rng.uniform(0.05, 0.6))
