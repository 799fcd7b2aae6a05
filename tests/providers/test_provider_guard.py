"""Provider base and token URLs go through the address guard (docs/architecture.md §6).

APNs and FCM connect over pushgate's HTTP/2 pools, the FCM, WNS and HMS token endpoints over
httpx; every one resolves the host once, judges each address, and connects to a judged one.
The simulators listen on 127.0.0.1, so without ``allow_private_targets`` they must hear
nothing. Answers an upstream chooses come back as bounded, cleaned reasons.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import pytest

from pushgate.core.models import Provider
from pushgate.core.outcomes import OutcomeKind
from pushgate.providers.hms import HmsProvider
from pushgate.simulators.tls import CertificateAuthority, load_or_create_authority
from tests.providers.harness import ApnsSetup, Clock, FcmSetup, apns_token, delivery, start_apns
from tests.providers.harness import start_fcm as start_fcm_setup
from tests.providers.http_material import credentials, loopback_options
from tests.providers.http_material import delivery as http_delivery


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return load_or_create_authority(tmp_path_factory.mktemp("guard-tls"))


@pytest.fixture
async def apns(authority: CertificateAuthority) -> AsyncIterator[ApnsSetup]:
    setup = await start_apns(authority, Clock())
    yield setup
    await setup.server.close()


@pytest.fixture
async def fcm(authority: CertificateAuthority) -> AsyncIterator[FcmSetup]:
    setup = await start_fcm_setup(Clock(), authority)
    yield setup
    await setup.server.close()


def resolving_to(address: str) -> Callable[[str, int], Awaitable[list[str]]]:
    """A DNS answer (the outer edge) that sends every name to ``address``."""

    async def resolve(host: str, port: int) -> list[str]:
        return [address]

    return resolve


def with_host(url: str, host: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{host}:{parts.port}").geturl()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_apns_base_url_on_loopback_is_refused_without_the_setting(
    apns: ApnsSetup, host: str
) -> None:
    base_url = with_host(apns.server.base_url, host)
    provider = apns.provider(apns.credentials(base_url=base_url), allow_private_targets=False)
    try:
        [outcome] = await provider.send([delivery(apns_token(1), now=apns.clock.now)])
    finally:
        await provider.close()
    # A refused provider host pauses the credentials: no delivery can succeed until an
    # operator changes the URL.
    assert outcome.kind is OutcomeKind.AUTH_FAILED
    assert "target refused" in outcome.reason
    assert "loopback, private or link-local" in outcome.reason
    assert apns.simulator.all_received() == []


async def test_a_public_name_resolving_to_loopback_is_refused(apns: ApnsSetup) -> None:
    base_url = with_host(apns.server.base_url, "api.push.apple.com")
    strict = apns.provider(
        apns.credentials(base_url=base_url),
        allow_private_targets=False,
        resolver=resolving_to("127.0.0.1"),
    )
    try:
        [refused] = await strict.send([delivery(apns_token(1), now=apns.clock.now)])
    finally:
        await strict.close()
    assert refused.kind is OutcomeKind.AUTH_FAILED
    assert "api.push.apple.com resolves to a loopback" in refused.reason
    assert apns.simulator.all_received() == []

    # With the setting, the same name reaches the checked address, and TLS still verifies
    # the certificate against the name (the simulator's certificate names Apple's host).
    allowed = apns.provider(apns.credentials(base_url=base_url), resolver=resolving_to("127.0.0.1"))
    try:
        [sent] = await allowed.send([delivery(apns_token(1), now=apns.clock.now)])
    finally:
        await allowed.close()
    assert sent.kind is OutcomeKind.SENT, sent
    assert len(apns.simulator.all_received()) == 1


async def test_fcm_token_uri_on_loopback_is_refused_before_the_secret_leaves(
    fcm: FcmSetup, authority: CertificateAuthority
) -> None:
    # The base URL is public (it is never reached): the token request is the first one.
    given = fcm.credentials(base_url="https://fcm.googleapis.com")
    provider = fcm.provider(given, allow_private_targets=False, ca_files=(str(authority.ca_path),))
    try:
        [outcome] = await provider.send([delivery(apns_token(1), now=fcm.clock.now)])
    finally:
        await provider.close()
    assert outcome.kind is OutcomeKind.AUTH_FAILED
    assert outcome.reason.startswith("token endpoint refused: 127.0.0.1 resolves to a loopback")
    assert provider.tokens.grants == 0
    assert fcm.simulator.all_received() == []


class ErrorPageServer:
    """An upstream (the outer edge) that answers every request with one fixed answer."""

    def __init__(self, status: int, content_type: str, body: bytes) -> None:
        self.answer = (
            f"HTTP/1.1 {status} Refused\r\ncontent-type: {content_type}\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        ).encode() + body
        self.requests = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        self.requests += 1
        writer.write(self.answer)
        await writer.drain()
        writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (
            "text/html",
            b"<!DOCTYPE html><html><body>" + b"<p>internal admin panel</p>" * 75 + b"</html>",
            "token endpoint refused (401): non-text answer of",
        ),
        (
            "text/plain",
            "denied\x1b[31m\r\nX-Injected: yes\u202e".encode() + b"x" * 2000,
            "token endpoint refused (401): denied [31m X-Injected: yes",
        ),
    ],
)
async def test_upstream_bodies_become_bounded_clean_reasons(
    content_type: str, body: bytes, expected: str
) -> None:
    upstream = ErrorPageServer(401, content_type, body)
    base = await upstream.start()
    given = credentials(
        "hms",
        {"app_id": "103456789", "token_url": f"{base}/oauth2/v3/token", "base_url": base},
        {"client_secret": "s3cret"},
    )
    provider = HmsProvider(given, loopback_options())
    try:
        [outcome] = await provider.send([http_delivery(Provider.HMS, "hms-token-1")])
    finally:
        await provider.close()
        await upstream.close()
    assert upstream.requests == 1
    assert outcome.kind is OutcomeKind.AUTH_FAILED
    assert outcome.reason.startswith(expected), outcome.reason
    assert len(outcome.reason) <= 300
    assert "<" not in outcome.reason
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in outcome.reason)
    assert "\u202e" not in outcome.reason
