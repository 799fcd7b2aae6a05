"""A device's answer through a real ``pushgate serve`` (embedded mode): stored, its job
run by the worker in the same process, the installed Python handler found through the
actions the app defined, the result in the answer; then listed by the CLI."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from pushgate.simulators.identity import identity_of
from tests.e2e.test_send_cli import Instance, instance, pushgate

__all__ = ["instance"]  # the fixture, shared with the send tests


async def _received(instance: Instance, token: str, seconds: float = 20.0) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for item in instance.receiver.all_received():
            if item.token == token:
                return item.body
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing reached {token} in {seconds} s")


async def test_an_answer_runs_its_handler_in_an_embedded_server(instance: Instance) -> None:
    client = instance.client
    made = await client.post(
        "/v1/apps/crm/actions",
        json={
            "key": "approve",
            "title": "Approve",
            "handler": {"kind": "python", "name": "test-ok"},
        },
    )
    assert made.status_code == 201, made.text
    device_id = await instance.register("erin", user="erin")
    sent = await client.post(
        "/v1/notifications",
        json={
            "app": "crm",
            "audience": {"devices": [device_id]},
            "title": "Change 7",
            "actions": ["approve"],
        },
    )
    assert sent.status_code == 202, sent.text
    identity = identity_of("webhook", await _received(instance, "/hook/erin"))
    assert identity is not None
    [action] = identity.actions
    path = httpx.URL(identity.answer_url(action["id"])).path
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=10) as device:
        answer = await device.post(path, json={"token": identity.fields["token"], "input": "ok"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["state"] == "succeeded"
    assert body["result"]["output"] == {
        "response": body["response"],
        "action": "approve",
        "input": "ok",
    }

    listed = await pushgate(instance, "notifications", "responses", sent.json()["id"], "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["id"], row["action"], row["state"], row["input"]) == (
        body["response"],
        "approve",
        "succeeded",
        "ok",
    )
    table = await pushgate(instance, "notifications", "responses", sent.json()["id"])
    assert "approve: 1 succeeded" in table.stdout, table.stdout
