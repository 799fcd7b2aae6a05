"""The provider factory: validated credentials in, a working provider client out."""

from __future__ import annotations

from typing import Any

import pytest

from pushgate.core.credentials import validate_credentials
from pushgate.core.models import Provider
from pushgate.core.outcomes import OutcomeKind
from pushgate.errors import ConfigError
from pushgate.providers.base import ProviderCredentials
from pushgate.providers.registry import FACTORIES, build_provider
from pushgate.simulators.server import start
from pushgate.simulators.webhook import WebhookSimulator
from tests.providers.http_material import delivery, loopback_options

PACKAGE_SID = "ms-app://s-1-15-2-2972962901-2322836549-3722629029-1345238579-3987825745"


def from_input(kind: str, raw: dict[str, Any]) -> ProviderCredentials:
    """Credentials as a worker gets them: validated, split, then decrypted back."""
    validated = validate_credentials(kind, raw, allow_insecure_targets=True)
    return ProviderCredentials("app-1", kind, dict(validated.public), dict(validated.secret))


@pytest.mark.parametrize(
    ("kind", "raw", "class_name"),
    [
        ("webpush", {"subject": "mailto:ops@example.com", "generate": True}, "WebPushProvider"),
        ("wns", {"package_sid": PACKAGE_SID, "client_secret": "s3cret"}, "WnsProvider"),
        ("hms", {"app_id": "103456789", "client_secret": "s3cret"}, "HmsProvider"),
        ("webhook", {"url": "https://hooks.example.com/x"}, "WebhookProvider"),
    ],
)
async def test_each_kind_builds_its_provider(
    kind: str, raw: dict[str, Any], class_name: str
) -> None:
    provider = build_provider(from_input(kind, raw))
    try:
        assert type(provider).__name__ == class_name
        assert provider.kind == kind
    finally:
        await provider.close()


def test_every_credential_kind_has_a_factory() -> None:
    assert set(FACTORIES) == {"apns", "fcm", "webpush", "wns", "hms", "webhook"}


def test_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no provider for kind 'relay'"):
        build_provider(ProviderCredentials("app-1", "relay", {}, {}))


async def test_built_webhook_provider_delivers_with_validated_credentials() -> None:
    simulator = WebhookSimulator()
    running = await start(simulator)
    raw = {"url": f"{simulator.base_url}/hooks/x", "generate_signing_secret": True}
    validated = validate_credentials("webhook", raw, allow_insecure_targets=True)
    simulator.register_credentials({"secret": validated.secret["signing_secret"]})
    given = ProviderCredentials("app-1", "webhook", dict(validated.public), validated.secret)
    provider = build_provider(given, loopback_options())
    try:
        [outcome] = await provider.send([delivery(Provider.WEBHOOK, "device-1")])
    finally:
        await provider.close()
        await running.close()
    assert outcome.kind is OutcomeKind.SENT
    assert list(simulator.received) == ["/hooks/x"]
