"""``pushgate interactions send`` and ``pushgate reports`` against a real ``pushgate serve``
(embedded mode): a push delivered to a webhook device, its identity reported as opened by
the command line, then the app's series and the deliveries CSV read back by it."""

from __future__ import annotations

import csv
import io
import json

from pushgate.simulators.identity import identity_of
from tests.e2e.test_answers_e2e import _received
from tests.e2e.test_send_cli import Instance, instance, pushgate

__all__ = ["instance"]  # the fixture, shared with the send tests


async def test_an_open_reported_by_the_cli_shows_in_the_reports(instance: Instance) -> None:
    device_id = await instance.register("fay")
    body = {"app": "crm", "audience": {"devices": [device_id]}, "title": "Doors open"}
    sent = await instance.client.post("/v1/notifications", json=body)
    assert sent.status_code == 202, sent.text
    identity = identity_of("webhook", await _received(instance, "/hook/fay"))
    assert identity is not None
    fields = json.dumps(identity.fields)

    reported = await pushgate(instance, "interactions", "send", "opened", "--identity", fields)
    assert reported.returncode == 0, reported.stderr
    assert json.loads(reported.stdout)["recorded"] == 1
    again = await pushgate(instance, "interactions", "send", "opened", "--identity", fields)
    assert json.loads(again.stdout)["duplicates"] == 1
    bad = await pushgate(instance, "interactions", "send", "opened", "--identity", "{}")
    assert bad.returncode == 2

    whole = await pushgate(instance, "reports", "app", "crm", "--json")
    assert whole.returncode == 0, whole.stderr
    assert json.loads(whole.stdout)["totals"]["opened"] == 1
    shown = await pushgate(instance, "reports", "app", "crm", "--interval", "day")
    assert sent.json()["id"] in shown.stdout  # the top notifications
    series = await pushgate(instance, "reports", "app", "crm", "--csv")
    rows = list(csv.DictReader(io.StringIO(series.stdout)))
    assert sum(int(row["opened"]) for row in rows) == 1
    exported = await pushgate(instance, "reports", "deliveries", sent.json()["id"])
    [row] = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert row["delivery"] == identity.fields["delivery"]
    assert row["opened_at"]
    missing = await pushgate(instance, "reports", "app", "nope")
    assert missing.returncode == 1
