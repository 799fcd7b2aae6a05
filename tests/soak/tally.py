"""The soak's figures, counted from what the provider received and what the API reports
(docs/reliability.md "Soak" defines each one).

- accepted: broadcasts whose client got a 2xx.
- lost: deliveries of accepted notifications the provider never received, and accepted
  notifications not ``completed`` with every device ``sent``.
- stranded: accepted notifications not in a final state once the recovery bound passed.
- duplicates: messages the provider received more than once under one ``apns-id`` (the
  delivery's id: a resent delivery keeps it), against the bound of what was in flight.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, assert_never

from tests.soak.clients import SendResult
from tests.soak.monitor import ReadinessProbe
from tests.soak.schedule import (
    Fault,
    FlushRedis,
    KillApi,
    KillRedis,
    KillWorker,
    ProviderOutage,
    RestartPostgres,
)
from tests.soak.stack import FaultRecord, Tuning

FINAL_STATES = frozenset({"completed", "expired", "canceled"})


def workers_in_flight(fault: Fault, tuning: Tuning) -> int:
    """How many workers' batches a fault can catch sent but not yet written back: a kill
    catches its worker's; a restart of the database, a loss of the queue's jobs or a cut of
    the provider's connections catches every worker's. The API sends nothing (``serve
    --no-worker``), so killing it can duplicate nothing."""
    match fault:
        case KillApi():
            return 0
        case KillWorker():
            return 1
        case RestartPostgres() | FlushRedis() | KillRedis() | ProviderOutage():
            return tuning.workers
        case _:
            assert_never(fault)


def epoch(stamp: str | None) -> float | None:
    return None if stamp is None else datetime.fromisoformat(stamp).timestamp()


@dataclass(frozen=True, slots=True)
class FaultFigures:
    kind: str
    at: float  # seconds into the chaos window
    lasted: float  # until its cause was gone
    unready: float  # /readyz not 200, from the fault until ready again
    in_flight: int  # accepted notifications not final when it struck
    settled_after: float  # from the fault until the last of those was final
    longest_stall: float  # longest time with work pending and nothing delivered
    # Repeats received after it struck and before the next one did: a rough share only,
    # since a repeat comes a lease or a reconcile after the fault that caused it.
    repeats_after: int


@dataclass(frozen=True, slots=True)
class Figures:
    broadcasts: int
    devices: int
    accepted: int
    answered_again: int  # accepted on a retry whose first 2xx said created: false
    client_attempts: int
    client_answers: dict[str, int]
    refused: list[str]
    lost_deliveries: int
    lost_notifications: int
    stranded: int
    received: int
    duplicates: int
    duplicate_bound: int
    double_notified: int  # a device getting one broadcast under two apns-ids
    # Each broadcast from its acceptance until final: median and longest, seconds.
    broadcast_seconds: tuple[float, float]
    chaos_seconds: float  # from the start until the last fault ended
    # From the last fault's end until every notification made before it was final.
    drain_seconds: float
    provider_faults: int  # requests the provider refused (503) or cut during its outage
    faults: list[FaultFigures]


class Tally:
    def __init__(
        self,
        results: list[SendResult],
        notifications: dict[str, dict[str, Any]],
        received: list[dict[str, Any]],
        tokens: list[str],
    ) -> None:
        self.results = results
        self.notifications = notifications
        self.received = received
        self.tokens = tokens
        self.delivered_at = sorted(item["received_at"] for item in received)
        self.repeated_at = _repeats(received)
        self.pending = self._pending_intervals()

    def figures(
        self,
        records: list[FaultRecord],
        probe: ReadinessProbe,
        tuning: Tuning,
        t0: float,
        provider_faults: int,
    ) -> Figures:
        accepted = [r for r in self.results if r.notification_id is not None]
        lost_deliveries, lost_notifications = self._lost(accepted)
        per_id = Counter(item["message_id"] for item in self.received)
        per_message = Counter((_title(item), item["token"]) for item in self.received)
        answers: Counter[str] = Counter()
        for result in self.results:
            answers.update(result.answers)
        return Figures(
            broadcasts=len(self.results),
            devices=len(self.tokens),
            accepted=len(accepted),
            answered_again=sum(1 for r in accepted if r.created is False),
            client_attempts=sum(r.attempts for r in self.results),
            client_answers=dict(sorted(answers.items())),
            refused=[f"#{r.index}: {r.refused}" for r in self.results if r.refused],
            lost_deliveries=lost_deliveries,
            lost_notifications=lost_notifications,
            stranded=sum(
                1 for n in self._accepted_rows(accepted) if n["state"] not in FINAL_STATES
            ),
            received=len(self.received),
            duplicates=sum(count - 1 for count in per_id.values()),
            duplicate_bound=sum(workers_in_flight(r.fault, tuning) for r in records)
            * tuning.worker_concurrency
            * tuning.send_batch_size,
            double_notified=sum(count - 1 for count in per_message.values())
            - sum(count - 1 for count in per_id.values()),
            broadcast_seconds=_median_and_longest([end - start for start, end in self.pending]),
            chaos_seconds=max(r.ended for r in records) - t0,
            drain_seconds=self._drain(max(r.ended for r in records)),
            provider_faults=provider_faults,
            faults=[
                self._fault_figures(record, probe, t0, following)
                for record, following in zip(
                    records, [r.started for r in records[1:]] + [float("inf")], strict=True
                )
            ],
        )

    def _drain(self, last_end: float) -> float:
        """From the last fault's end until every notification made before it was final."""
        finals = [end for start, end in self.pending if start < last_end]
        return max(0.0, max(finals, default=last_end) - last_end)

    def _accepted_rows(self, accepted: list[SendResult]) -> list[dict[str, Any]]:
        return [self.notifications[r.notification_id] for r in accepted if r.notification_id]

    def _lost(self, accepted: list[SendResult]) -> tuple[int, int]:
        reached: dict[str, set[str]] = {}
        for item in self.received:
            reached.setdefault(_title(item), set()).add(item["token"])
        every = set(self.tokens)
        lost_deliveries = lost_notifications = 0
        for result in accepted:
            row = self.notifications[result.notification_id or ""]
            missing = len(every - reached.get(result.title, set()))
            done = row["state"] == "completed" and row["deliveries"].get("sent") == len(every)
            lost_deliveries += missing
            lost_notifications += 1 if missing or not done else 0
        return lost_deliveries, lost_notifications

    def _pending_intervals(self) -> list[tuple[float, float]]:
        """Each accepted notification from its creation until it was final (its last
        update), or for ever when it never was."""
        spans = []
        for row in self.notifications.values():
            created = epoch(row["created_at"]) or 0.0
            final = epoch(row["updated_at"]) if row["state"] in FINAL_STATES else None
            spans.append((created, final if final is not None else float("inf")))
        return spans

    def _fault_figures(
        self,
        record: FaultRecord,
        probe: ReadinessProbe,
        t0: float,
        next_started: float,
    ) -> FaultFigures:
        struck = record.started
        caught = [end for start, end in self.pending if start < struck < end]
        settled = max(caught, default=struck)
        return FaultFigures(
            kind=record.fault.kind,
            at=struck - t0,
            lasted=record.ended - struck,
            unready=probe.unready_seconds(struck, record.ended, next_started),
            in_flight=len(caught),
            settled_after=settled - struck,
            longest_stall=self._longest_stall(struck, max(settled, record.ended)),
            repeats_after=sum(1 for at in self.repeated_at if struck <= at < next_started),
        )

    def _longest_stall(self, start: float, end: float) -> float:
        moments = [start, *(t for t in self.delivered_at if start < t < end), end]
        return max(
            (self._pending_overlap(a, b) for a, b in itertools.pairwise(moments)),
            default=0.0,
        )

    def _pending_overlap(self, a: float, b: float) -> float:
        """How much of (a, b) some notification was pending (the union of their spans)."""
        covered = sorted((max(a, s), min(b, e)) for s, e in self.pending if s < b and e > a)
        total, reach = 0.0, a
        for s, e in covered:
            if e > reach:
                total += e - max(s, reach)
                reach = e
        return total


def _repeats(received: list[dict[str, Any]]) -> list[float]:
    """When each message already received under its apns-id arrived again."""
    seen: set[str] = set()
    again: list[float] = []
    for item in sorted(received, key=lambda item: item["received_at"]):
        if item["message_id"] in seen:
            again.append(item["received_at"])
        seen.add(item["message_id"])
    return again


def _median_and_longest(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return (ordered[len(ordered) // 2], ordered[-1]) if ordered else (0.0, 0.0)


def _title(item: dict[str, Any]) -> str:
    body = item["body"] if isinstance(item["body"], dict) else {}
    alert = body.get("aps", {}).get("alert", {})
    return str(alert.get("title", "")) if isinstance(alert, dict) else ""
