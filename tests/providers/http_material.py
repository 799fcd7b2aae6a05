"""Deliveries, credentials and options for the HTTP/1.1 provider tests (Web Push, WNS, HMS,
webhook); the simulators themselves are started by each test module's fixtures."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from pushgate.core.messages import Message
from pushgate.core.models import Device, Platform, Provider
from pushgate.core.outcomes import Outcome, OutcomeKind
from pushgate.providers.base import Delivery, ProviderCredentials
from pushgate.providers.options import ProviderOptions

PLATFORMS = {
    Provider.WEBPUSH: Platform.WEB,
    Provider.WNS: Platform.WINDOWS,
    Provider.HMS: Platform.HUAWEI,
    Provider.WEBHOOK: Platform.SERVER,
}


@dataclass
class Clock:
    """A settable clock (epoch seconds) that starts at the real time."""

    now: float

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_clock() -> Clock:
    return Clock(time.time())


def loopback_options(clock: Clock | None = None, **extra: Any) -> ProviderOptions:
    """Options for tests: private targets allowed (the simulators are on 127.0.0.1)."""
    values: dict[str, Any] = {
        "allow_private_targets": True,
        "connect_timeout": 2.0,
        "request_timeout": 5.0,
        "pool_timeout": 5.0,
        **extra,
    }
    if clock is not None:
        values["clock"] = clock
    return ProviderOptions(**values)


def delivery(
    provider: Provider,
    token: str,
    message: Message | None = None,
    *,
    keys: dict[str, str] | None = None,
    ttl_seconds: int = 3600,
    now: float | None = None,
) -> Delivery:
    device = Device(
        id=str(uuid.uuid4()),
        tenant_id="tenant-1",
        app_id="app-1",
        provider=provider,
        token=token,
        keys=keys,
        platform=PLATFORMS[provider],
        user_id="user-1",
        locale="en",
        timezone="UTC",
    )
    started = time.time() if now is None else now
    return Delivery(
        delivery_id=str(uuid.uuid4()),
        device=device,
        message=message or Message(title="Booked", body="Your appointment is at 10:00"),
        expires_at=int((started + ttl_seconds) * 1000),
        created_at=int(started * 1000),
    )


def credentials(kind: str, public: dict[str, Any], secret: dict[str, str]) -> ProviderCredentials:
    return ProviderCredentials(app_id="app-1", kind=kind, public=public, secret=secret)


def kinds(outcomes: list[Outcome]) -> list[OutcomeKind]:
    return [outcome.kind for outcome in outcomes]
