"""What the inbound tests share: a source's definition, a scheduling system's JWTs and
Standard Webhooks signatures made by independent libraries (PyJWT, ``standardwebhooks``),
and pushgate served over a real socket on the test's own event loop."""

from __future__ import annotations

import asyncio
import base64
import functools
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import jwt
import orjson
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from standardwebhooks.webhooks import Webhook

from pushgate.api.app import create_app
from pushgate.wiring import Services

HS_SECRET = "s3cr3t-of-the-scheduling-system-0123456789"
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
MAPPING = {
    "name": "NotificationType",
    "names": {"AppointmentBooked": "appointment.booked"},
    "record_type": "appointment",
    "record_id": "Appointment.Id",
    "fields": "Appointment",
    "recipients": "Recipients",
    "data": "Appointment",
    "idempotency_key": "NotificationId",
}
# What a scheduling system's notifier posts: the type, the record and who to tell.
BODY: dict[str, Any] = {
    "NotificationId": "N-1",
    "NotificationType": "AppointmentBooked",
    "Appointment": {"Id": "APT-1", "Start": "2026-03-02T09:00:00Z", "With": "Dr. Lee"},
    "Recipients": ["alice"],
}


def datanotifier(verification: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "key": "scheduler",
        "kind": "datanotifier",
        "verification": verification,
        "mapping": MAPPING,
        **extra,
    }


def standard(**extra: Any) -> dict[str, Any]:
    return {
        "key": "billing",
        "kind": "standard-webhooks",
        "verification": {"secret": WHSEC},
        "mapping": {**MAPPING, "idempotency_key": None},
        **extra,
    }


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def token(alg: str = "HS256", key: Any = HS_SECRET, **claims: Any) -> str:
    return jwt.encode({"iss": "scheduler", **claims}, key, algorithm=alg)


def notifier_headers(authorization: str | None) -> dict[str, str]:
    headers = {"User-Agent": "DataNotifier", "Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return headers


def signed(body: bytes, msg_id: str, at: float, secret: str = WHSEC) -> dict[str, str]:
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(at, UTC), body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at)),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def dumps(body: Any) -> bytes:
    return orjson.dumps(body)


@asynccontextmanager
async def served(services: Services) -> AsyncIterator[str]:
    """pushgate on a free loopback port of this event loop; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        create_app(services),
        log_level="critical",
        lifespan="off",
        http="h11",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            # uvicorn reports readiness only as a flag, so poll it (bounded by the timeout).
            while not server.started:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()
