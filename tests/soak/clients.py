"""Clients that send the soak's broadcasts as a careful real client would: each request
carries an ``Idempotency-Key``; a request that got no answer (connection refused or cut, a
timeout) or a 5xx/429 is sent again with the same key after a jittered, growing wait, so the
notification exists once however often it was asked for (docs/delivery.md)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

# Answers worth asking again: the server or its database was busy or away.
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})


@dataclass
class SendResult:
    """One broadcast as its client saw it: the 2xx answer (if one came) and every other."""

    index: int
    key: str
    title: str
    notification_id: str | None = None
    accepted_at: float | None = None
    created: bool | None = None
    answers: Counter[str] = field(default_factory=Counter)
    refused: str | None = None

    @property
    def attempts(self) -> int:
        return sum(self.answers.values())


def send_broadcast(
    base_url: str, admin_key: str, app: str, result: SendResult, give_up_after: float
) -> None:
    """Ask until a 2xx, a final refusal, or ``give_up_after`` seconds have passed."""
    rng = random.Random(result.key)
    deadline = time.monotonic() + give_up_after
    wait = 0.25
    body = {"app": app, "audience": {"everyone": True}, "title": result.title, "body": "soak"}
    headers = {"Authorization": f"Bearer {admin_key}", "Idempotency-Key": result.key}
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
        while time.monotonic() < deadline:
            try:
                answer = client.post("/v1/notifications", json=body)
            except httpx.TransportError as exc:
                result.answers[type(exc).__name__] += 1
            else:
                result.answers[str(answer.status_code)] += 1
                if answer.is_success:
                    result.notification_id = answer.json()["id"]
                    result.created = answer.json()["created"]
                    result.accepted_at = time.time()
                    return
                if answer.status_code not in RETRYABLE:
                    result.refused = f"{answer.status_code} {answer.text[:300]}"
                    return
            time.sleep(rng.uniform(wait / 2, wait))  # the client's backoff between asks
            wait = min(wait * 2, 4.0)
    result.refused = f"no 2xx within {give_up_after:.0f} s"


class Senders:
    """One thread per broadcast: started at its planned moment by ``follow``'s clock, or
    at once by ``start``."""

    def __init__(self, base_url: str, admin_key: str, app: str, seed: int) -> None:
        self.base_url, self.admin_key, self.app, self.seed = base_url, admin_key, app, seed
        self.results: list[SendResult] = []
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def start(self, index: int, give_up_after: float) -> None:
        result = SendResult(index, f"soak-{self.seed}-{index}", f"Soak {self.seed} #{index}")
        self.results.append(result)
        thread = threading.Thread(
            target=self._run, args=(result, give_up_after), name=f"send-{index}", daemon=True
        )
        self.threads.append(thread)
        thread.start()

    def follow(self, t0: float, times: tuple[float, ...], give_up_after: float) -> None:
        """Start broadcast ``n`` at ``t0 + times[n]``, from a thread of its own, whatever
        the faults are doing meanwhile."""

        def clock() -> None:
            for index, at in enumerate(times):
                pause = t0 + at - time.time()
                if pause > 0:
                    time.sleep(pause)  # the plan's real-time clock
                self.start(index, give_up_after)

        thread = threading.Thread(target=self._guarded, args=(clock,), name="send-clock")
        thread.daemon = True
        self.threads.append(thread)
        thread.start()

    def _guarded(self, step: Callable[[], None]) -> None:
        try:
            step()
        except BaseException as exc:  # reported by join(), not lost in the thread
            self.errors.append(exc)

    def _run(self, result: SendResult, give_up_after: float) -> None:
        try:
            send_broadcast(self.base_url, self.admin_key, self.app, result, give_up_after)
        except BaseException as exc:  # reported by join(), not lost in the thread
            self.errors.append(exc)

    def join(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for thread in list(self.threads):  # the clock adds senders until it ends (first)
            thread.join(max(0.0, deadline - time.monotonic()))
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self.errors:
            raise self.errors[0]
        alive = [t.name for t in self.threads if t.is_alive()]
        if alive:
            raise AssertionError(f"senders still running after {seconds:.0f} s: {alive}")
