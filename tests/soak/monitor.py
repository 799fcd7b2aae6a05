"""What an operator's probe sees: ``GET /readyz`` every quarter second through the soak,
so each fault's time until the API is ready again can be read afterwards."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

INTERVAL = 0.25
# A slow answer on a loaded machine is not an outage: only a refusal, a cut connection, a
# non-200 answer or this long without one counts as not ready.
TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # epoch seconds, when the probe was sent
    answer: str  # the status code, or the transport error's name
    took: float

    @property
    def ready(self) -> bool:
        return self.answer == "200"


class ReadinessProbe:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="readyz-probe", daemon=True)

    def __enter__(self) -> ReadinessProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=TIMEOUT) as client:
            while not self._stop.is_set():
                sent = time.time()
                try:
                    answer = str(client.get("/readyz").status_code)
                except httpx.TransportError as exc:
                    answer = type(exc).__name__
                self.samples.append(Sample(sent, answer, time.time() - sent))
                self._stop.wait(INTERVAL)

    def unready_seconds(self, started: float, ended: float, next_started: float) -> float:
        """From ``started`` to the first ready sample after the last unready one sent by
        ``ended`` plus a second, or by the next fault (0 when the API stayed ready)."""
        limit = min(ended + 1.0, next_started)
        window = [s for s in self.samples if s.at >= started]
        unready = [s for s in window if not s.ready and s.at < limit]
        if not unready:
            return 0.0
        back = next((s for s in window if s.ready and s.at > unready[-1].at), None)
        return (back.at if back is not None else float("inf")) - started
