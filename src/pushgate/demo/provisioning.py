"""The demo's app: simulator credentials for every provider and a few devices of each kind,
set up through pushgate's own API the way an operator and an app would."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pushgate.demo.stack import DemoFailed
from pushgate.simulators import hms as hms_sim
from pushgate.simulators import wns as wns_sim
from pushgate.simulators.base import Simulator
from pushgate.simulators.fcm import FcmSimulator
from pushgate.simulators.fcm_oauth import make_service_account
from pushgate.simulators.runner import SimulatorGroup
from pushgate.simulators.webpush import WebPushSimulator
from pushgate.simulators.wns import WnsSimulator

APP = "demo"
DEVICES_PER_PROVIDER = 2
PEOPLE = ("ada", "grace", "alan", "barbara", "ken", "margaret")
BUNDLE_ID = "dev.pushgate.demo"
FCM_PROJECT = "pushgate-demo"
WNS_PACKAGE_SID = "ms-app://s-1-15-2-1234567890-1234567890-1234567890-1234567890"
HMS_APP_ID = "104000001"
S = TypeVar("S", bound=Simulator)


@dataclass(frozen=True, slots=True)
class DemoDevice:
    """One registered device and the key its messages are recorded under at the simulator."""

    provider: str
    user: str
    device_id: str
    received_key: str


def _of_kind(simulator: Simulator, kind: type[S]) -> S:
    """The group's simulator for a provider, as that provider's simulator class."""
    if not isinstance(simulator, kind):
        raise TypeError(f"expected a {kind.__name__}, got a {type(simulator).__name__}")
    return simulator


class Provisioner:
    """Sets credentials and registers devices for one provider at a time."""

    def __init__(self, client: httpx.AsyncClient, simulators: SimulatorGroup) -> None:
        self.client = client
        self.simulators = simulators
        self.people = iter(PEOPLE * len(simulators.servers))

    async def run(self) -> list[DemoDevice]:
        await self._call("DELETE", f"/v1/apps/{APP}", ok=(204, 404))  # left from a --data-dir
        await self._call("POST", "/v1/apps", {"name": APP, "description": "pushgate demo"})
        steps: dict[str, Callable[[Simulator], Awaitable[list[DemoDevice]]]] = {
            "apns": self._apns,
            "fcm": self._fcm,
            "webpush": self._webpush,
            "wns": self._wns,
            "hms": self._hms,
            "webhook": self._webhook,
        }
        devices: list[DemoDevice] = []
        for name, step in steps.items():
            devices += await step(self.simulators.simulator(name))
        return devices

    async def _apns(self, simulator: Simulator) -> list[DemoDevice]:
        # A fresh .p8 signing key; the simulator learns its public half, as Apple would.
        key = ec.generate_private_key(ec.SECP256R1())
        key_id, team_id = secrets.token_hex(5).upper(), secrets.token_hex(5).upper()
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        simulator.register_credentials(
            {"key_id": key_id, "team_id": team_id, "public_key_pem": public_pem.decode()}
        )
        p8 = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        await self._credentials(
            "apns",
            team_id=team_id,
            key_id=key_id,
            private_key=p8.decode(),
            bundle_id=BUNDLE_ID,
            environment="production",
            base_url=simulator.base_url,
        )
        tokens = [secrets.token_hex(32) for _ in range(DEVICES_PER_PROVIDER)]
        return [await self._device("apns", token, token) for token in tokens]

    async def _fcm(self, simulator: Simulator) -> list[DemoDevice]:
        simulator = _of_kind(simulator, FcmSimulator)
        account = make_service_account(FCM_PROJECT, simulator.token_uri)
        simulator.register_credentials(account)
        await self._credentials("fcm", service_account=account, base_url=simulator.base_url)
        tokens = [f"demo:{secrets.token_urlsafe(24)}" for _ in range(DEVICES_PER_PROVIDER)]
        return [await self._device("fcm", token, token) for token in tokens]

    async def _webpush(self, simulator: Simulator) -> list[DemoDevice]:
        simulator = _of_kind(simulator, WebPushSimulator)
        made = await self._credentials("webpush", subject="mailto:demo@pushgate.dev", generate=True)
        server_key = str(made["values"]["application_server_key"])
        devices = []
        for _ in range(DEVICES_PER_PROVIDER):
            # What a browser's pushManager.subscribe() hands the page, made at the simulator.
            subscription = simulator.create_subscription(server_key)
            sub_id = str(subscription["endpoint"]).rsplit("/", 1)[-1]
            devices.append(await self._device("webpush", sub_id, subscription=subscription))
        return devices

    async def _wns(self, simulator: Simulator) -> list[DemoDevice]:
        simulator = _of_kind(simulator, WnsSimulator)
        secret = secrets.token_urlsafe(24)
        simulator.register_credentials({"client_id": WNS_PACKAGE_SID, "client_secret": secret})
        await self._credentials(
            "wns",
            package_sid=WNS_PACKAGE_SID,
            client_secret=secret,
            token_url=f"{simulator.base_url}{wns_sim.LOGIN_PATH}",
        )
        channels = [simulator.create_channel(WNS_PACKAGE_SID) for _ in range(DEVICES_PER_PROVIDER)]
        return [await self._device("wns", uri.rsplit("/", 1)[-1], uri) for uri in channels]

    async def _hms(self, simulator: Simulator) -> list[DemoDevice]:
        secret = secrets.token_urlsafe(24)
        simulator.register_credentials({"client_id": HMS_APP_ID, "client_secret": secret})
        await self._credentials(
            "hms",
            app_id=HMS_APP_ID,
            client_secret=secret,
            token_url=f"{simulator.base_url}{hms_sim.LOGIN_PATH}",
            base_url=simulator.base_url,
        )
        tokens = [f"IQAAAACy{secrets.token_urlsafe(32)}" for _ in range(DEVICES_PER_PROVIDER)]
        return [await self._device("hms", token, token) for token in tokens]

    async def _webhook(self, simulator: Simulator) -> list[DemoDevice]:
        # A Standard Webhooks signing secret; the receiver verifies every request with it.
        secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
        simulator.register_credentials({"secret": secret})
        await self._credentials("webhook", url=f"{simulator.base_url}/hooks", signing_secret=secret)
        devices = []
        for index in range(DEVICES_PER_PROVIDER):
            path = f"/hooks/backend-{index + 1}"
            devices.append(await self._device("webhook", path, f"{simulator.base_url}{path}"))
        return devices

    async def _credentials(self, kind: str, **body: Any) -> dict[str, Any]:
        return await self._call("PUT", f"/v1/apps/{APP}/credentials/{kind}", body)

    async def _device(
        self, provider: str, received_key: str, token: str | None = None, **extra: Any
    ) -> DemoDevice:
        user = next(self.people)
        body = {"provider": provider, "user": user, **extra}
        if token is not None:
            body["token"] = token
        made = await self._call("POST", f"/v1/apps/{APP}/devices", body)
        return DemoDevice(provider, user, str(made["id"]), received_key)

    async def _call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        ok: tuple[int, ...] = (200, 201),
    ) -> dict[str, Any]:
        answer = await self.client.request(method, path, json=body)
        if answer.status_code not in ok:
            raise DemoFailed(f"{method} {path} answered {answer.status_code}: {answer.text}")
        found: dict[str, Any] = answer.json() if answer.content else {}
        return found
