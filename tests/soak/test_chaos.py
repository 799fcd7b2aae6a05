"""The reliability soak (issue 13): scale mode under kill -9, database restarts, Redis cut
and flushed, and a provider outage, while clients keep sending. Nothing accepted may be
lost or stranded; duplicates are counted against what was in flight.

Marked ``soak``: ``make soak`` runs it, ``make test`` does not. A few minutes on two cores.
Environment: ``SOAK_SEED`` (replay a plan; random otherwise, printed), ``SOAK_BROADCASTS``
(20), ``SOAK_DEVICES`` (2000), ``SOAK_WINDOW`` (90: the seconds over which the broadcasts
not tied to a fault are spread), ``SOAK_REPORT`` (write the figures there as JSON). The
figures and their definitions are in docs/reliability.md "Soak".
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.deployment import (
    admin_client,
    apns_token,
    create_apns_app,
    import_devices,
    printed_admin_key,
    start_apns_simulator,
)
from tests.e2e.serving import Processes, wait_until
from tests.private_redis import PrivateRedis
from tests.services import require_program
from tests.soak.clients import Senders
from tests.soak.monitor import ReadinessProbe
from tests.soak.own_postgres import OwnPostgres, find_program
from tests.soak.report import markdown, write_json
from tests.soak.schedule import Plan, make_plan
from tests.soak.stack import DATABASE, FaultRecord, SoakStack, Tuning, soak_env
from tests.soak.tally import FINAL_STATES, Tally

APP = "shop"
# How long after the chaos window every accepted notification has to be final. A device
# refused with 503 waits APNs's first 30-60 s before its retry (core/retry_table.py).
RECOVERY_BOUND = 150.0
# A client keeps asking this long before it gives up on a broadcast.
CLIENT_PATIENCE = 90.0

pytestmark = [pytest.mark.soak, pytest.mark.postgres, pytest.mark.redis]


def setting(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SoakStack]:
    """Every process of the deployment; all killed, the cluster removed, at the end."""
    for program in ("initdb", "pg_ctl", "psql"):
        if find_program(program) is None:
            require_program(program, "postgresql")
    tuning = Tuning()
    postgres = OwnPostgres()
    queue = PrivateRedis(require_program("redis-server", "redis-server"))
    try:
        postgres.start()
        postgres.create_database(DATABASE)
        asyncio.run(queue.start())
        # pushgate's processes end (with the block) before the servers they use.
        with Processes(tmp_path / "logs") as processes:
            simulator = start_apns_simulator(processes, tmp_path / "tls")
            env = soak_env(tmp_path / "data", postgres, queue, simulator, tuning)
            with simulator.control:
                yield SoakStack(processes, postgres, queue, simulator, env, tuning)
    finally:
        asyncio.run(queue.kill())
        postgres.stop()


def test_nothing_lost_or_stranded_through_crashes_and_outages(
    stack: SoakStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    begun = time.time()
    seed = setting("SOAK_SEED", secrets.randbelow(1_000_000))
    devices, broadcasts = setting("SOAK_DEVICES", 2000), setting("SOAK_BROADCASTS", 20)
    plan = make_plan(seed, broadcasts, setting("SOAK_WINDOW", 90), stack.tuning.workers)
    print(f"soak seed {seed}")  # shown when it fails: SOAK_SEED={seed} replays the plan
    first_api = stack.start_api()
    admin_key = printed_admin_key(stack.processes, first_api)
    tokens = [apns_token(n) for n in range(devices)]
    with admin_client(stack.base_url, admin_key) as api:
        create_apns_app(api, stack.simulator, APP)
    import_devices(stack.env, APP, tokens, tmp_path / "devices.csv")
    for which in range(stack.tuning.workers):
        stack.start_worker(which)

    senders = Senders(stack.base_url, admin_key, APP, seed)
    with ReadinessProbe(stack.base_url) as probe:
        t0 = time.time()
        records = run_chaos(stack, plan, senders, t0, devices)
        senders.join(CLIENT_PATIENCE + 15)
        with admin_client(stack.base_url, admin_key) as api:
            rows = wait_for_final(api, senders, RECOVERY_BOUND)
    tally = Tally(senders.results, rows, stack.simulator.received(), tokens)
    faulted = stack.simulator.faults_answered()
    figures = tally.figures(records, probe, stack.tuning, t0, faulted)
    text = markdown(plan, stack.tuning, figures, time.time() - begun)
    with capsys.disabled():  # the figures are the point of a soak: shown even when it passes
        print(f"\n{text}")
    if "SOAK_REPORT" in os.environ:
        write_json(Path(os.environ["SOAK_REPORT"]), plan, stack.tuning, figures, probe)
    (tmp_path / "soak.md").write_text(text)

    assert figures.refused == [], text
    assert figures.accepted == broadcasts, text
    assert figures.lost_deliveries == 0, text
    assert figures.lost_notifications == 0, text
    assert figures.stranded == 0, text
    assert figures.duplicates <= figures.duplicate_bound, text
    assert figures.double_notified == 0, text


def run_chaos(
    stack: SoakStack, plan: Plan, senders: Senders, t0: float, devices: int
) -> list[FaultRecord]:
    """The broadcasts of ``plan.sends`` on their own clock; here, each fault in turn, a
    moment after a broadcast of its own went out."""
    senders.follow(t0, plan.sends, CLIENT_PATIENCE)
    records: list[FaultRecord] = []
    for n, strike in enumerate(plan.strikes):
        time.sleep(strike.pause)  # the plan's real-time clock, by design of a soak
        delivered = stack.simulator.accepted()
        senders.start(len(plan.sends) + n, CLIENT_PATIENCE)
        time.sleep(strike.delay)
        if strike.share > 0:
            await_share(stack, delivered + max(1, int(strike.share * devices)))
        records.append(stack.apply(strike.fault))
    return records


def await_share(stack: SoakStack, delivered: int) -> None:
    """Until the provider has received ``delivered`` messages in all, asking as fast as it
    answers (a broadcast of 2,000 takes well under a second); at most 30 s, after which
    the fault strikes all the same."""
    deadline = time.monotonic() + 30
    while stack.simulator.accepted() < delivered and time.monotonic() < deadline:
        pass


def wait_for_final(
    api: httpx.Client, senders: Senders, seconds: float
) -> dict[str, dict[str, Any]]:
    """Every notification of the app once the accepted ones are final, or at ``seconds``."""
    accepted = {r.notification_id for r in senders.results if r.notification_id}

    def rows() -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        after: str | None = None
        while True:
            params: dict[str, Any] = {
                "app": APP,
                "limit": 100,
                **({"after": after} if after else {}),
            }
            page = api.get("/v1/notifications", params=params).json()
            found.update({item["id"]: item for item in page["items"]})
            after = page["next"]
            if after is None:
                return found

    def all_final() -> dict[str, dict[str, Any]] | None:
        found = rows()
        done = all(n in found and found[n]["state"] in FINAL_STATES for n in accepted)
        return found if done else None

    try:
        return wait_until(all_final, seconds, "every accepted notification to be final")
    except AssertionError:
        return rows()  # counted as stranded by the tally
