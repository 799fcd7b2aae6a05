"""A pushgate deployment of real processes for the crash-safety tests: the APNs simulator
in a process of its own, an app with APNs credentials pointing at it, devices imported in
bulk, and the notification API read from outside."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.serving import Processes, wait_until
from tests.simulators.conftest import ApnsSigningKey, make_apns_key

BUNDLE_ID = "com.example.shop"
FINAL_STATES = ("completed", "expired", "canceled")
ADMIN_KEY = re.compile(r"pgk_[0-9a-f]{12}_[A-Za-z0-9_-]+")


def apns_token(index: int) -> str:
    """A well-formed APNs device token (64 hex digits), distinct per index."""
    return f"{index:064x}"


@dataclass
class ApnsSimulatorProcess:
    """``pushgate simulate --apns 0`` in its own process, driven over its control routes."""

    url: str
    ca_file: Path
    control: httpx.Client

    def register_key(self, key: ApnsSigningKey) -> None:
        answer = self.control.post("/_sim/apns/credentials", json=key.registration())
        assert answer.status_code == 201, answer.text

    def inject(self, **fault: Any) -> None:
        """A fault of docs/simulators.md: ``status``, ``retry_after``, ``count``, ``until``…"""
        answer = self.control.post("/_sim/apns/faults", json=fault)
        assert answer.status_code == 201, answer.text

    def reset(self) -> None:
        """Forget what was received, counted and scripted (registered keys stay)."""
        assert self.control.post("/_sim/apns/reset").status_code == 200

    def accepted(self) -> int:
        counters: dict[str, int] = self.control.get("/_sim/apns/counters").json()
        return counters.get("accepted", 0)

    def faults_answered(self) -> int:
        counters: dict[str, int] = self.control.get("/_sim/apns/counters").json()
        return counters.get("faults", 0)

    def received(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.control.get("/_sim/apns/received").json()["received"]
        return items

    def per_token(self) -> Counter[str]:
        return Counter(item["token"] for item in self.received())


def start_apns_simulator(processes: Processes, tls_dir: Path) -> ApnsSimulatorProcess:
    """Start the simulator on a free port and read the URL and CA path it prints."""
    process = processes.spawn(
        "simulator", ["simulate", "--apns", "0", "--tls-dir", str(tls_dir)], _plain_env()
    )

    def printed() -> str | None:
        if process.poll() is not None:
            raise AssertionError(f"the simulator exited:\n{processes.log('simulator')}")
        text = processes.log("simulator")
        return text if "simulators running" in text else None

    text = wait_until(printed, 30, "the APNs simulator to start")
    url = re.search(r"^apns\s+(\S+)", text, re.MULTILINE)
    ca = re.search(r"^ca\s+(\S+)", text, re.MULTILINE)
    assert url is not None, text
    assert ca is not None, text
    trust = ssl.create_default_context(cafile=ca.group(1))
    control = httpx.Client(base_url=url.group(1), verify=trust, timeout=30)
    return ApnsSimulatorProcess(url.group(1), Path(ca.group(1)), control)


def _plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PUSHGATE_")}


def admin_client(base: str, key: str) -> httpx.Client:
    """A client that lets an idle connection go after 2 s, before the server closes it at
    its keep-alive limit (5 s): a request sent on a connection the server is closing at
    that moment gets no answer, and a test that paused (an import, a worker start) would
    fail on the race rather than on what it checks."""
    return httpx.Client(
        base_url=base,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
        limits=httpx.Limits(keepalive_expiry=2),
    )


def printed_admin_key(processes: Processes, name: str) -> str:
    """The instance-wide admin key ``serve`` prints on the very first start."""
    found = ADMIN_KEY.search(processes.log(name))
    assert found is not None, processes.log(name)
    return found.group(0)


def create_apns_app(api: httpx.Client, simulator: ApnsSimulatorProcess, name: str) -> None:
    """An app whose APNs token credentials point at the simulator, which trusts the key."""
    key = make_apns_key()
    simulator.register_key(key)
    assert api.post("/v1/apps", json={"name": name}).status_code == 201
    answer = api.put(
        f"/v1/apps/{name}/credentials/apns",
        json={
            "team_id": key.team_id,
            "key_id": key.key_id,
            "private_key": key.private_pem,
            "bundle_id": BUNDLE_ID,
            "environment": "production",
            "base_url": simulator.url,
        },
    )
    assert answer.status_code == 200, answer.text


def import_devices(env: dict[str, str], app: str, tokens: list[str], csv_path: Path) -> None:
    """Register APNs devices in bulk with ``pushgate devices import``."""
    csv_path.write_text("provider,token\n" + "".join(f"apns,{t}\n" for t in tokens))
    result = subprocess.run(
        [sys.executable, "-m", "pushgate", "devices", "import", str(csv_path), "--app", app],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(tokens)} rows accepted" in result.stdout, result.stdout


def send(api: httpx.Client, app: str, audience: dict[str, Any], **content: Any) -> str:
    answer = api.post("/v1/notifications", json={"app": app, "audience": audience, **content})
    assert answer.status_code == 202, answer.text
    notification_id: str = answer.json()["id"]
    return notification_id


def settled(api: httpx.Client, notification_id: str, seconds: float) -> dict[str, Any]:
    """The notification once it is in a final state (bounded in time)."""

    def final() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"/v1/notifications/{notification_id}").json()
        return body if body["state"] in FINAL_STATES else None

    return wait_until(final, seconds, f"notification {notification_id} to settle")


def deliveries(api: httpx.Client, notification_id: str) -> list[dict[str, Any]]:
    """Every delivery of a notification, page by page."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"after": after} if after else {})}
        page = api.get(f"/v1/notifications/{notification_id}/deliveries", params=params).json()
        found.extend(page["items"])
        after = page["next"]
        if after is None:
            return found


def register_devices(api: httpx.Client, app: str, tokens: list[str]) -> list[str]:
    """Register a few APNs devices through the API; their ids, in order."""
    ids: list[str] = []
    for token in tokens:
        answer = api.post(f"/v1/apps/{app}/devices", json={"provider": "apns", "token": token})
        assert answer.status_code in (200, 201), answer.text
        ids.append(answer.json()["id"])
    return ids
