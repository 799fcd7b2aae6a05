"""A server on SQLite while another process holds the database's write lock (issue 12,
defect 13): the server stays responsive, and its writes wait for the lock without
blocking anything else."""

from __future__ import annotations

import gc
import statistics
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.api.material import apns_token
from tests.e2e.deployment import admin_client, printed_admin_key
from tests.e2e.serving import Processes, pushgate_env
from tests.sqlite_lock import write_lock_held

# The issue's bound, on the answers' typical time: the loop may be busy for a moment,
# never for the length of a lock.
HEALTHZ_BOUND_SECONDS = 0.1
HOLD_SECONDS = 1.5
# A loop that waited for the lock would answer once or not at all while it is held.
FEWEST_ANSWERS = 10
# What the holder writes in its transaction, as a CLI command would.
OTHER_WRITE = "INSERT INTO instance (key, value) VALUES ('written-meanwhile', 'yes')"


def _healthz_times_while(api: httpx.Client, waiting: list[Future[httpx.Response]]) -> list[float]:
    """Ask /healthz again and again for HOLD_SECONDS; how long each answer took.

    The time should be the server's, so this process adds as little as it can: its
    collector is held off meanwhile (a full collection of a test process's heap, some
    hundreds of tests in, would be counted as the server's time), and the writes'
    clients were made before (making an httpx client loads the CA bundle, about 30 ms
    of CPU mostly under the GIL, which this thread waited for between its reads)."""
    times: list[float] = []
    gc.collect()
    gc.disable()
    try:
        started = time.monotonic()
        while time.monotonic() - started < HOLD_SECONDS:
            asked = time.monotonic()
            assert api.get("/healthz").status_code == 200
            times.append(time.monotonic() - asked)
    finally:
        gc.enable()
    # Still waiting for the lock: the writes did not slip past it.
    assert not any(write.done() for write in waiting)
    return times


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    with client:
        return client.post(path, json=body, timeout=30)


def test_server_answers_while_a_cli_holds_the_write_lock(tmp_path: Path) -> None:
    with Processes(tmp_path / "logs") as processes:
        base, _ = processes.serve("server", pushgate_env(tmp_path / "data"))
        key = printed_admin_key(processes, "server")
        with admin_client(base, key) as api, ThreadPoolExecutor(2) as pool:
            assert api.post("/v1/apps", json={"name": "mobile"}).status_code == 201
            with write_lock_held(tmp_path / "data" / "pushgate.db", OTHER_WRITE) as holder:
                device = {"provider": "apns", "token": apns_token(), "user": "alice"}
                clients = [admin_client(base, key), admin_client(base, key)]
                waiting = [
                    pool.submit(_post, clients[0], "/v1/apps/mobile/devices", device),
                    pool.submit(_post, clients[1], "/v1/apps", {"name": "second"}),
                ]
                times = _healthz_times_while(api, waiting)
                holder.release()
                registered, created = (write.result(timeout=30) for write in waiting)
            # Each answer's time is also the wait of a process for one of two cores shared
            # with whatever else runs: runs on a loaded machine saw single answers of
            # 838 ms and (load average 21) 282 ms. So the bound is on the typical answer,
            # and no answer may come near the lock's length; a loop that waited for the
            # lock fails all three.
            shown = f"/healthz times in ms: {[round(t * 1000) for t in times]}"
            assert len(times) >= FEWEST_ANSWERS, shown
            assert statistics.median(times) < HEALTHZ_BOUND_SECONDS, shown
            assert max(times) < HOLD_SECONDS / 2, shown
            assert registered.status_code == 201, registered.text
            assert created.status_code == 201, created.text
            listed = api.get("/v1/devices").json()["items"]
            assert [item["token"] for item in listed] == [device["token"]]
            assert {app["name"] for app in api.get("/v1/apps").json()} == {"mobile", "second"}
