"""Shared fixtures for the simulator tests: each simulator served on a free loopback port,
and a plain HTTP client to talk to it."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pushgate.simulators.apns import ApnsSimulator
from pushgate.simulators.fcm import FcmSimulator
from pushgate.simulators.server import start
from pushgate.simulators.tls import CertificateAuthority


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


# -- APNs / FCM and HTTP/2 ------------------------------------------------------------------


@dataclass(frozen=True)
class ApnsSigningKey:
    """A generated .p8 key as Apple would issue it, and ES256 provider tokens from it."""

    key_id: str
    team_id: str
    private_pem: str
    # One token generation per key, as Apple asks clients to reuse tokens (20–60 min).
    issued_at: int = field(default_factory=lambda: int(time.time()))

    def token(self, issued_at: float | None = None) -> str:
        iat = int(self.issued_at if issued_at is None else issued_at)
        return jwt.encode(
            {"iss": self.team_id, "iat": iat},
            self.private_pem,
            algorithm="ES256",
            headers={"kid": self.key_id},
        )

    def registration(self, **extra: object) -> dict[str, object]:
        public = serialization.load_pem_private_key(self.private_pem.encode(), None).public_key()
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        return {"key_id": self.key_id, "team_id": self.team_id, "public_key_pem": pem, **extra}


def make_apns_key(team_id: str | None = None) -> ApnsSigningKey:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return ApnsSigningKey(
        secrets.token_hex(5).upper(), team_id or secrets.token_hex(5).upper(), pem
    )


@pytest.fixture
def apns_key() -> ApnsSigningKey:
    return make_apns_key()


@pytest.fixture
async def apns_sim(
    sim_authority: CertificateAuthority, apns_key: ApnsSigningKey
) -> AsyncIterator[ApnsSimulator]:
    """The APNs simulator over TLS (ALPN h2), trusting client certificates from our CA,
    with ``apns_key`` registered for any topic."""
    simulator = ApnsSimulator()
    simulator.register_credentials(apns_key.registration())
    context = sim_authority.server_context(client_ca_path=sim_authority.ca_path)
    running = await start(simulator, ssl_context=context)
    yield simulator
    await running.close()


@pytest.fixture
async def apns_http(sim_authority: CertificateAuthority) -> AsyncIterator[httpx.AsyncClient]:
    """httpx over HTTP/2, trusting the simulator CA."""
    async with httpx.AsyncClient(
        http2=True, verify=sim_authority.client_context(), timeout=10
    ) as client:
        yield client


@pytest.fixture
async def fcm_sim() -> AsyncIterator[FcmSimulator]:
    simulator = FcmSimulator()
    running = await start(simulator)
    yield simulator
    await running.close()
