"""Shared pieces of the APNs and FCM provider tests: a settable clock, deliveries, and the
simulators started in-process on free loopback ports with credentials registered."""

from __future__ import annotations

import base64
import functools
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pushgate.core.messages import Message
from pushgate.core.models import Device, Platform, Provider
from pushgate.providers.apns import ApnsOptions, ApnsProvider
from pushgate.providers.base import Delivery, ProviderCredentials
from pushgate.providers.fcm import FcmOptions, FcmProvider
from pushgate.simulators.apns import ApnsSimulator
from pushgate.simulators.fcm import FcmSimulator
from pushgate.simulators.fcm_oauth import make_service_account
from pushgate.simulators.server import RunningServer, start
from pushgate.simulators.tls import CertificateAuthority
from tests.simulators.conftest import ApnsSigningKey, make_apns_key

BUNDLE_ID = "com.example.app"
PROJECT_ID = "pushgate-test"


@dataclass
class Clock:
    """Epoch seconds that move only when told to; starting on a whole second, as the
    tokens minted from it do, so ages computed from them are exact."""

    now: float = field(default_factory=lambda: float(int(time.time())))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def apns_token(index: int = 0) -> str:
    return f"{index:064x}"


def delivery(
    token: str,
    message: Message | None = None,
    *,
    provider: Provider = Provider.APNS,
    expires_at: int | None = None,
    now: float | None = None,
) -> Delivery:
    """One delivery of ``message`` (a short alert by default) valid for an hour from ``now``."""
    platform = Platform.IOS if provider is Provider.APNS else Platform.ANDROID
    device = Device(
        id=str(uuid.uuid4()),
        tenant_id="t",
        app_id="a",
        provider=provider,
        token=token,
        keys=None,
        platform=platform,
        user_id=None,
        locale=None,
        timezone=None,
    )
    started = time.time() if now is None else now
    if expires_at is None:
        expires_at = int((started + 3600) * 1000)
    return Delivery(
        str(uuid.uuid4()),
        device,
        message or Message(title="Hi", body="there"),
        expires_at,
        int(started * 1000),
    )


@dataclass
class ApnsSetup:
    """The APNs simulator over TLS with one signing key registered."""

    simulator: ApnsSimulator
    server: RunningServer
    key: ApnsSigningKey
    authority: CertificateAuthority
    clock: Clock

    def credentials(self, **public: Any) -> ProviderCredentials:
        values = {
            "auth_mode": "token",
            "bundle_id": BUNDLE_ID,
            "environment": "production",
            "team_id": self.key.team_id,
            "key_id": self.key.key_id,
            "base_url": self.server.base_url,
            **public,
        }
        return ProviderCredentials("a", "apns", values, {"private_key": self.key.private_pem})

    def certificate_credentials(self, p12_path: Path) -> ProviderCredentials:
        public = {
            "auth_mode": "certificate",
            "bundle_id": BUNDLE_ID,
            "environment": "production",
            "base_url": self.server.base_url,
        }
        p12 = base64.b64encode(p12_path.read_bytes()).decode()
        secret = {"certificate_p12": p12, "certificate_password": ""}
        return ProviderCredentials("a", "apns", public, secret)

    def provider(
        self, credentials: ProviderCredentials | None = None, **options: Any
    ) -> ApnsProvider:
        # The simulator listens on 127.0.0.1: reaching it takes the operator's explicit
        # allow_private_targets, as in production a base URL override would.
        values: dict[str, Any] = {"allow_private_targets": True, **options}
        settings = ApnsOptions(ca_files=(str(self.authority.ca_path),), **values)
        return ApnsProvider(credentials or self.credentials(), settings, clock=self.clock)


async def start_apns(
    authority: CertificateAuthority, clock: Clock, *, max_concurrent_streams: int = 1000
) -> ApnsSetup:
    key = make_apns_key()
    simulator = ApnsSimulator(clock=clock, max_concurrent_streams=max_concurrent_streams)
    simulator.register_credentials(key.registration())
    context = authority.server_context(client_ca_path=authority.ca_path)
    server = await start(simulator, ssl_context=context)
    return ApnsSetup(simulator, server, key, authority, clock)


@dataclass
class FcmSetup:
    """The FCM simulator (h2c and HTTP/1.1, or TLS) with one service account registered."""

    simulator: FcmSimulator
    server: RunningServer
    account: dict[str, str]
    clock: Clock

    def credentials(self, **public: Any) -> ProviderCredentials:
        values = {
            "project_id": self.account["project_id"],
            "client_email": self.account["client_email"],
            "private_key_id": self.account["private_key_id"],
            "token_uri": self.account["token_uri"],
            "base_url": self.server.base_url,
            **public,
        }
        secret = {"private_key": self.account["private_key"]}
        return ProviderCredentials("a", "fcm", values, secret)

    def provider(
        self, credentials: ProviderCredentials | None = None, **options: Any
    ) -> FcmProvider:
        values: dict[str, Any] = {"allow_private_targets": True, **options}
        return FcmProvider(
            credentials or self.credentials(), FcmOptions(**values), clock=self.clock
        )


@functools.cache
def _service_account() -> dict[str, str]:
    # RSA key generation takes a noticeable fraction of a second: one key for all tests.
    return make_service_account(PROJECT_ID, "")


async def start_fcm(clock: Clock, authority: CertificateAuthority | None = None) -> FcmSetup:
    """The simulator over plain HTTP, or over TLS (token endpoint too) with ``authority``."""
    simulator = FcmSimulator()
    context = authority.server_context() if authority is not None else None
    server = await start(simulator, ssl_context=context)
    account = {**_service_account(), "token_uri": simulator.token_uri}
    simulator.register_credentials(account)
    return FcmSetup(simulator, server, account, clock)
