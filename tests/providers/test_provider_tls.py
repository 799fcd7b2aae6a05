"""TLS contexts of the provider clients: each client (an httpx client or an HTTP/2 pool) has
one of its own, so the FCM pool still negotiates h2 after its token client used https; and
trust is the system store plus the configured CA files."""

from __future__ import annotations

import asyncio
import gc
import ssl
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pushgate.core.credentials.keys import b64url_encode
from pushgate.core.models import Provider
from pushgate.core.outcomes import OutcomeKind
from pushgate.providers.base import Provider as ProviderClient
from pushgate.providers.base import ProviderCredentials
from pushgate.providers.options import ProviderOptions
from pushgate.providers.registry import FACTORIES, build_provider
from pushgate.providers.trust import Protocol, tls_context
from pushgate.simulators.fcm_oauth import make_service_account
from pushgate.simulators.server import RunningServer, start
from pushgate.simulators.tls import CertificateAuthority, load_or_create_authority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.transport import Http2Pool
from tests.providers.harness import Clock, FcmSetup, delivery, start_fcm
from tests.providers.http_material import credentials as http_credentials
from tests.providers.http_material import delivery as http_delivery
from tests.providers.http_material import loopback_options
from tests.simulators.conftest import make_apns_key

CLIENTS = (httpx.AsyncClient, Http2Pool)
PROTOCOLS: tuple[Protocol, ...] = ("h2", "http/1.1")
# Followed no further when looking for what a client holds: shared by everything.
NOT_FOLLOWED = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    asyncio.AbstractEventLoop,
)


def found_in(root: object, kind: type | tuple[type, ...]) -> list[Any]:
    """The objects of ``kind`` ``root`` refers to, directly or through objects other than
    clients (so what one client holds is not counted for the client that holds it)."""
    seen, todo, found = {id(root)}, [root], []
    while todo:
        for referent in gc.get_referents(todo.pop()):
            if id(referent) in seen or isinstance(referent, NOT_FOLLOWED):
                continue
            seen.add(id(referent))
            if isinstance(referent, kind):
                found.append(referent)
            elif not isinstance(referent, CLIENTS):
                todo.append(referent)
    return found


def every_kind_of_credentials() -> list[ProviderCredentials]:
    """Credentials of every provider kind, on the real providers' https hosts (nothing
    connects: the clients are only built)."""
    apns = make_apns_key()
    account = make_service_account("tls-test", "https://oauth2.googleapis.com/token")
    vapid = ec.generate_private_key(ec.SECP256R1())
    vapid_pem = vapid.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_point = vapid.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    given = {
        "apns": (
            {"bundle_id": "com.example.app", "team_id": apns.team_id, "key_id": apns.key_id},
            {"private_key": apns.private_pem},
        ),
        "fcm": (
            {k: account[k] for k in ("project_id", "client_email", "private_key_id", "token_uri")},
            {"private_key": account["private_key"]},
        ),
        "webpush": (
            {
                "subject": "mailto:ops@example.com",
                "application_server_key": b64url_encode(public_point),
            },
            {"vapid_private_key": vapid_pem},
        ),
        "wns": ({"package_sid": "ms-app://s-1-15-2-1"}, {"client_secret": "secret"}),
        "hms": ({"app_id": "104000001"}, {"client_secret": "secret"}),
        "webhook": ({"url": "https://hooks.example.com/push"}, {}),
    }
    assert set(given) == set(FACTORIES) == {str(kind) for kind in Provider}
    return [ProviderCredentials("app", kind, *values) for kind, values in given.items()]


async def test_every_provider_client_has_a_tls_context_of_its_own(
    sim_authority: CertificateAuthority,
) -> None:
    """No SSLContext is shared between an httpx client and an HTTP/2 pool, between two
    clients of one provider, nor between providers built from the same options."""
    options = ProviderOptions(ca_files=(str(sim_authority.ca_path),))
    providers: list[ProviderClient] = [
        build_provider(credentials, options)
        for credentials in every_kind_of_credentials() * 2  # twice each: no sharing across
    ]
    try:
        holders: dict[int, str] = {}
        for provider in providers:
            clients = found_in(provider, CLIENTS)
            assert clients, provider.kind
            for client in clients:
                contexts = found_in(client, ssl.SSLContext)
                assert contexts, f"{provider.kind}: {type(client).__name__} has no TLS context"
                for context in contexts:
                    holder = f"{provider.kind} {type(client).__name__}"
                    assert id(context) not in holders, f"{holder} shares {holders[id(context)]}'s"
                    holders[id(context)] = holder
    finally:
        for provider in providers:
            await provider.close()


@pytest.fixture
async def fcm_over_tls(sim_authority: CertificateAuthority) -> AsyncIterator[FcmSetup]:
    setup = await start_fcm(Clock(), sim_authority)
    yield setup
    await setup.server.close()


async def test_fcm_negotiates_h2_after_fetching_its_token_over_https(
    fcm_over_tls: FcmSetup, sim_authority: CertificateAuthority
) -> None:
    """Google's setup: the token endpoint and the send endpoint are both https."""
    assert fcm_over_tls.account["token_uri"].startswith("https://")
    assert fcm_over_tls.server.base_url.startswith("https://")
    provider = fcm_over_tls.provider(ca_files=(str(sim_authority.ca_path),))
    try:
        token = "fcm-token:0001_abcdefghijklmnopqrstuvwxyz"
        first = await provider.send([delivery(token, provider=Provider.FCM)])
        again = await provider.send([delivery(token, provider=Provider.FCM)])
    finally:
        await provider.close()
    assert [o.kind for o in first + again] == [OutcomeKind.SENT] * 2, first + again
    assert provider.tokens.grants == 1
    assert len(fcm_over_tls.simulator.received[token]) == 2


# -- trust: the system store and every configured CA file ---------------------------------


async def serve_webhook(authority: CertificateAuthority) -> RunningServer:
    """A webhook receiver over TLS with a server certificate signed by ``authority``."""
    return await start(WebhookSimulator(), ssl_context=authority.server_context())


async def handshake(server: RunningServer, context: ssl.SSLContext) -> str | None:
    """Open a TLS connection to ``server`` and return the ALPN protocol agreed."""
    _, writer = await asyncio.open_connection(
        "127.0.0.1", server.port, ssl=context, server_hostname="localhost"
    )
    try:
        protocol: str | None = writer.get_extra_info("ssl_object").selected_alpn_protocol()
        return protocol
    finally:
        writer.close()


async def test_configured_ca_files_add_to_the_system_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenSSL's system store is the file ``SSL_CERT_FILE`` names: pointed at a CA of our
    own, a server signed by it stands for a real provider signed by a public CA."""
    system, simulators, another, stranger = (
        load_or_create_authority(tmp_path / name)
        for name in ("system", "simulators", "another", "stranger")
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(system.ca_path))
    servers = [await serve_webhook(a) for a in (system, simulators, another, stranger)]
    try:
        ca_files = (str(simulators.ca_path), str(another.ca_path))
        for protocol in PROTOCOLS:
            for server in servers[:3]:
                context = tls_context(ca_files, protocol)
                assert await handshake(server, context) == protocol
            with pytest.raises(ssl.SSLCertVerificationError):
                await handshake(servers[3], tls_context(ca_files, protocol))
    finally:
        for server in servers:
            await server.close()


@pytest.mark.parametrize("allowed", [False, True])
async def test_a_loopback_receiver_over_https_still_needs_private_targets_allowed(
    sim_authority: CertificateAuthority, allowed: bool
) -> None:
    """TLS changes nothing about the private-address guard (docs/architecture.md §6)."""
    server = await serve_webhook(sim_authority)
    options = loopback_options(
        allow_private_targets=allowed, ca_files=(str(sim_authority.ca_path),)
    )
    given = http_credentials("webhook", {"url": f"{server.base_url}/hook"}, {})
    provider = build_provider(given, options)
    try:
        [outcome] = await provider.send([http_delivery(Provider.WEBHOOK, "device-1")])
    finally:
        await provider.close()
        await server.close()
    if allowed:
        assert outcome.kind is OutcomeKind.SENT, outcome
        assert list(server.simulator.received) == ["/hook"]
    else:
        assert outcome.kind is OutcomeKind.REJECTED, outcome
        assert "loopback, private or link-local" in outcome.reason
        assert server.simulator.counters["requests"] == 0
