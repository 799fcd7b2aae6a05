"""Hosts pushing to their sources over a real socket (docs/events.md, "Inbound sources"):
a scheduling system's notifier with its exact headers and JWT (HS256, RS256, ES256),
every code of its contract, and Standard Webhooks signatures; on the injected clock."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pushgate.core.clock import ManualClock
from pushgate.core.datanotifier import LEEWAY_SECONDS
from pushgate.core.inbound_refusals import ANSWERS, Refusal
from pushgate.core.standard_webhooks import TOLERANCE_SECONDS
from pushgate.storage.tables import record_events
from pushgate.wiring import Services, build_services
from tests.api.expect import error_of, ok
from tests.api.inbound_scene import (
    BODY,
    HS_SECRET,
    datanotifier,
    dumps,
    ec_key,
    notifier_headers,
    public_pem,
    rsa_key,
    served,
    signed,
    standard,
    token,
)
from tests.conftest import api_client, empty_postgres, make_settings
from tests.sqlite_lock import write_lock_held

STALL_SECONDS = 0.5


class Scene:
    """A served instance on the injected clock, its admin client and a host's client."""

    def __init__(
        self,
        services: Services,
        clock: ManualClock,
        admin: httpx.AsyncClient,
        http: httpx.AsyncClient,
    ) -> None:
        self.services = services
        self.clock = clock
        self.admin = admin
        self.http = http

    async def source(self, body: dict[str, Any]) -> str:
        made = ok(await self.admin.post("/v1/sources", json=body), 201)
        return str(made["path"])

    async def events(self) -> list[dict[str, Any]]:
        rows = await self.services.record_event_store.fetch_all(
            record_events.select().order_by(record_events.c.created_at)
        )
        return [dict(row.body) for row in rows]


@pytest.fixture
async def scene(database_url: str, tmp_path: Path) -> AsyncIterator[Scene]:
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    clock = ManualClock()
    services = await build_services(make_settings(tmp_path, database_url), clock=clock)
    try:
        made = await services.access.bootstrap_admin_key()
        assert made is not None
        async with (
            api_client(services, made.plaintext) as admin,
            served(services) as base,
            httpx.AsyncClient(base_url=base, timeout=10) as http,
        ):
            ok(await admin.post("/v1/apps", json={"name": "clinic"}), 201)
            yield Scene(services, clock, admin, http)
    finally:
        await services.close()


def contract(answer: httpx.Response, code: int) -> str:
    assert answer.status_code == (200 if code == 0 else _status(code)), answer.text
    body = answer.json()
    assert set(body) == {"Success", "Code", "Message"}, body
    assert (body["Success"], body["Code"]) == (code == 0, code), body
    return str(body["Message"])


def _status(code: int) -> int:
    return next(a.status for a in ANSWERS.values() if a.code == code)


def code_of(reason: Refusal) -> int:
    return ANSWERS[reason].code


async def test_a_notifier_posting_as_the_scheduling_system_does_is_stored_once(
    scene: Scene,
) -> None:
    path = await scene.source(datanotifier({"alg": "HS256", "secret": HS_SECRET}, app="clinic"))
    headers = notifier_headers(token(exp=scene.clock.now() + 300))
    answer = await scene.http.post(path, content=dumps(BODY), headers=headers)
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"Success": True, "Code": 0, "Message": "OK"}
    # The notifier retries what it thinks failed: the same NotificationId is one event.
    contract(await scene.http.post(path, content=dumps(BODY), headers=headers), 0)
    [event] = await scene.events()
    assert event["name"] == "appointment.booked"
    assert event["app"] == "clinic"
    assert event["record"] == {
        "type": "appointment",
        "id": "APT-1",
        "fields": {**BODY["Appointment"], "recipients": ["alice"]},
    }
    assert event["data"] == BODY["Appointment"]


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_a_token_signed_with_the_private_key_of_the_sources_public_key_passes(
    scene: Scene, alg: str
) -> None:
    private, other = (rsa_key(), ec_key()) if alg == "RS256" else (ec_key(), rsa_key())
    path = await scene.source(datanotifier({"alg": alg, "public_key": public_pem(private)}))
    good = notifier_headers(token(alg, private))
    contract(await scene.http.post(path, content=dumps(BODY), headers=good), 0)
    # The algorithm is the source's: a token of the other asymmetric kind, or HS256 with
    # the public key as its secret (RFC 8725 §2.1), is refused.
    other_alg = "ES256" if alg == "RS256" else "RS256"
    pem = public_pem(private).encode()
    for wrong in (token(other_alg, other), _hs256_with(pem)):
        message = contract(
            await scene.http.post(path, content=dumps(BODY), headers=notifier_headers(wrong)),
            code_of(Refusal.JWT_INVALID),
        )
        assert "alg value is not allowed" in message
    # Signed by another key of the same kind: a bad signature.
    stranger = rsa_key_2() if alg == "RS256" else ec.generate_private_key(ec.SECP256R1())
    message = contract(
        await scene.http.post(
            path, content=dumps(BODY), headers=notifier_headers(token(alg, stranger))
        ),
        code_of(Refusal.JWT_INVALID),
    )
    assert "signature" in message.lower()


def _hs256_with(secret: bytes) -> str:
    """An HS256 JWT made by hand: PyJWT refuses a PEM key as an HMAC secret itself."""

    def part(value: bytes) -> bytes:
        return base64.urlsafe_b64encode(value).rstrip(b"=")

    signing = part(b'{"alg":"HS256","typ":"JWT"}') + b"." + part(b'{"iss":"x"}')
    mac = hmac.new(secret, signing, hashlib.sha256).digest()
    return (signing + b"." + part(mac)).decode()


@functools.cache
def rsa_key_2() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, Refusal.JWT_MISSING),
        ("", Refusal.JWT_MISSING),
        ("Bearer", Refusal.JWT_MISSING),
        ("not-a-jwt", Refusal.JWT_INVALID),
        ("WRONG_SECRET", Refusal.JWT_INVALID),
        ("ALG_NONE", Refusal.JWT_INVALID),
        ("EXPIRED", Refusal.JWT_EXPIRED),
        ("NOT_YET", Refusal.JWT_EXPIRED),
    ],
)
async def test_a_token_that_does_not_hold_is_refused_in_the_contract(
    scene: Scene, authorization: str | None, reason: Refusal
) -> None:
    path = await scene.source(datanotifier({"alg": "HS256", "secret": HS_SECRET}))
    now = scene.clock.now()
    made = {
        "WRONG_SECRET": token(key="another-secret-of-at-least-thirty-two-bytes"),
        "ALG_NONE": token("none", None),
        "EXPIRED": token(exp=now - LEEWAY_SECONDS - 1),
        "NOT_YET": token(nbf=now + LEEWAY_SECONDS + 60),
    }
    value = made.get(authorization or "", authorization)
    answer = await scene.http.post(path, content=dumps(BODY), headers=notifier_headers(value))
    contract(answer, code_of(reason))
    assert await scene.events() == []


async def test_exp_and_nbf_are_judged_by_the_injected_clock_with_a_small_leeway(
    scene: Scene,
) -> None:
    path = await scene.source(datanotifier({"alg": "HS256", "secret": HS_SECRET}))
    expiring = token(exp=scene.clock.now() + 10, NotificationId="x")
    headers = notifier_headers(expiring)
    scene.clock.advance(10 + LEEWAY_SECONDS)  # within the leeway still
    contract(await scene.http.post(path, content=dumps(BODY), headers=headers), 0)
    scene.clock.advance(2)
    contract(
        await scene.http.post(path, content=dumps(BODY), headers=headers),
        code_of(Refusal.JWT_EXPIRED),
    )
    # A bearer prefix is taken too.
    fresh = notifier_headers(f"Bearer {token()}")
    contract(await scene.http.post(path, content=dumps(BODY), headers=fresh), 0)


async def test_every_contract_code_of_the_body_and_the_source(scene: Scene) -> None:
    path = await scene.source(datanotifier({"alg": "HS256", "secret": HS_SECRET}))
    good = notifier_headers(token())
    post = scene.http.post

    unknown = await post(
        "/v1/inbound/0190c8a2-0000-7000-8000-000000000000", content=dumps(BODY), headers=good
    )
    contract(unknown, code_of(Refusal.UNKNOWN_SOURCE))
    browser = {**good, "User-Agent": "curl/8.0"}
    contract(
        await post(path, content=dumps(BODY), headers=browser), code_of(Refusal.NOT_DATANOTIFIER)
    )
    contract(await post(path, content=b"{not json", headers=good), code_of(Refusal.MALFORMED_JSON))
    contract(await post(path, content=b"[1]", headers=good), code_of(Refusal.MALFORMED_JSON))
    other_type = {**BODY, "NotificationType": "AppointmentEaten"}
    message = contract(
        await post(path, content=dumps(other_type), headers=good), code_of(Refusal.UNKNOWN_TYPE)
    )
    assert "AppointmentEaten" in message
    no_record = {k: v for k, v in BODY.items() if k != "Appointment"}
    contract(await post(path, content=dumps(no_record), headers=good), code_of(Refusal.UNMAPPABLE))
    large = {**BODY, "padding": "x" * (scene.services.settings.max_body_bytes + 1)}
    contract(await post(path, content=dumps(large), headers=good), code_of(Refusal.TOO_LARGE))
    changed = {**BODY, "Recipients": ["bob"]}  # the same NotificationId, another body
    contract(await post(path, content=dumps(BODY), headers=good), 0)
    contract(await post(path, content=dumps(changed), headers=good), code_of(Refusal.KEY_REUSED))

    ok(await scene.admin.patch("/v1/sources/scheduler", json={"paused": True}))
    paused = await post(path, content=dumps(BODY), headers=good)
    contract(paused, code_of(Refusal.PAUSED))
    assert paused.headers["retry-after"]
    ok(await scene.admin.patch("/v1/sources/scheduler", json={"paused": False}))

    limited = {"per_second": 0.001, "burst": 1}
    ok(await scene.admin.patch("/v1/sources/scheduler", json={"rate_limit": limited}))
    # A forged request is refused before it is counted: the real host's budget stays.
    forged = notifier_headers(token(key="another-secret-of-at-least-thirty-two-bytes"))
    contract(await post(path, content=dumps(BODY), headers=forged), code_of(Refusal.JWT_INVALID))
    contract(await post(path, content=dumps({**BODY, "NotificationId": "N-2"}), headers=good), 0)
    refused = await post(path, content=dumps({**BODY, "NotificationId": "N-3"}), headers=good)
    contract(refused, code_of(Refusal.RATE_LIMITED))
    assert int(refused.headers["retry-after"]) >= 1
    assert len(await scene.events()) == 2


async def test_storage_unavailable_is_a_contract_answer(tmp_path: Path) -> None:
    """SQLite held by another writer past the busy wait: the event cannot be stored."""
    settings = make_settings(tmp_path, None, sqlite_busy_seconds=0.2)
    services = await build_services(settings)
    try:
        made = await services.access.bootstrap_admin_key()
        assert made is not None
        async with api_client(services, made.plaintext) as admin, served(services) as base:
            source = datanotifier({"alg": "HS256", "secret": HS_SECRET})
            path = ok(await admin.post("/v1/sources", json=source), 201)["path"]
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                with write_lock_held(tmp_path / "pushgate.db"):
                    answer = await http.post(
                        path, content=dumps(BODY), headers=notifier_headers(token())
                    )
                contract(answer, code_of(Refusal.UNAVAILABLE))
                # Once the writer is gone, the notifier's retry is stored.
                answer = await http.post(
                    path, content=dumps(BODY), headers=notifier_headers(token())
                )
                contract(answer, 0)
    finally:
        await services.close()


async def test_a_stalled_body_is_a_contract_answer(tmp_path: Path) -> None:
    """A body that stops short of its Content-Length: 408 with the contract, once the body
    timeout (real time, the server's read) has passed."""
    settings = make_settings(tmp_path, None, body_timeout_seconds=STALL_SECONDS)
    services = await build_services(settings)
    try:
        made = await services.access.bootstrap_admin_key()
        assert made is not None
        async with api_client(services, made.plaintext) as admin, served(services) as base:
            source = datanotifier({"alg": "HS256", "secret": HS_SECRET})
            path = ok(await admin.post("/v1/sources", json=source), 201)["path"]
            host, port = base.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            head = (
                f"POST {path} HTTP/1.1\r\nHost: pushgate.test\r\nUser-Agent: DataNotifier\r\n"
                f"Authorization: {token()}\r\nContent-Type: application/json\r\n"
                'Content-Length: 100\r\n\r\n{"Notif'
            )
            writer.write(head.encode())
            await writer.drain()
            async with asyncio.timeout(STALL_SECONDS + 20):
                answer = await reader.read()  # until the server closes
            writer.close()
    finally:
        await services.close()
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout", answer
    body = orjson.loads(rest.split(b"\r\n\r\n", 1)[1])
    assert (body["Success"], body["Code"]) == (False, code_of(Refusal.TOO_SLOW))


async def test_standard_webhooks_valid_tampered_stale_and_replayed(scene: Scene) -> None:
    path = await scene.source(standard())
    raw = dumps(BODY)
    now = scene.clock.now()
    first = await scene.http.post(path, content=raw, headers=signed(raw, "msg_1", now))
    assert first.status_code == 202, first.text
    assert first.json()["created"] is True
    # Replayed: the same webhook-id and body is the event stored, not a second one.
    again = await scene.http.post(path, content=raw, headers=signed(raw, "msg_1", now))
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    tampered = dumps({**BODY, "Recipients": ["mallory"]})
    error_of(
        await scene.http.post(path, content=tampered, headers=signed(raw, "msg_2", now)),
        401,
        "signature_invalid",
    )
    stale = now - TOLERANCE_SECONDS - 1
    error_of(
        await scene.http.post(path, content=raw, headers=signed(raw, "msg_3", stale)),
        401,
        "timestamp_out_of_tolerance",
    )
    # Several signatures (a secret being rotated): any one that matches verifies.
    headers = signed(raw, "msg_4", now)
    headers["webhook-signature"] = f"v1,{'A' * 44} {headers['webhook-signature']}"
    assert (await scene.http.post(path, content=raw, headers=headers)).status_code == 202
    error_of(await scene.http.post(path, content=raw, headers={}), 401, "signature_invalid")
    assert len(await scene.events()) == 2
    # The signature is checked before the body is parsed.
    error_of(
        await scene.http.post(path, content=b"{", headers=signed(raw, "msg_5", now)),
        401,
        "signature_invalid",
    )
    # Errors of this kind are pushgate's own shape, never the contract.
    error_of(
        await scene.http.post(path, content=b"{", headers=signed(b"{", "msg_5", now)),
        400,
        "malformed_json",
    )
