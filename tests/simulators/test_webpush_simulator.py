"""The Web Push simulator against RFC 8030/8291/8292 and clients nobody here wrote."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import http_ece
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02
from pywebpush import webpush

from pushgate.simulators import ece
from pushgate.simulators.base import Fault
from pushgate.simulators.webpush import WebPushSimulator


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return ece.b64url_encode(raw)


def vapid_header(
    key: ec.EllipticCurvePrivateKey,
    aud: str,
    *,
    exp: float | None = None,
    k: str | None = None,
) -> str:
    claims = {"aud": aud, "exp": int(exp or time.time() + 3600), "sub": "mailto:ops@example.com"}
    token = jwt.encode(claims, key, algorithm="ES256", headers={"typ": "JWT"})
    return f"vapid t={token}, k={k or public_key_b64(key)}"


def forge_claims(header: str, claims: dict[str, Any]) -> str:
    """The same header with other claims under the original signature."""
    token = header.split("t=", 1)[1].split(",", 1)[0]
    head, _, signature = token.split(".")
    forged = ece.b64url_encode(json.dumps(claims).encode())
    return header.replace(token, f"{head}.{forged}.{signature}")


def encrypt_for(subscription: dict[str, Any], plaintext: bytes) -> bytes:
    body: bytes = http_ece.encrypt(
        plaintext,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=ece.b64url_decode(subscription["keys"]["p256dh"]),
        auth_secret=ece.b64url_decode(subscription["keys"]["auth"]),
        version="aes128gcm",
    )
    return body


@pytest.fixture
def vapid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
async def subscription(
    webpush_sim: WebPushSimulator, http: httpx.AsyncClient, vapid_key: ec.EllipticCurvePrivateKey
) -> dict[str, Any]:
    answer = await http.post(
        f"{webpush_sim.base_url}/_sim/webpush/subscriptions",
        json={"applicationServerKey": public_key_b64(vapid_key)},
    )
    assert answer.status_code == 201
    return dict(answer.json())


async def send(
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    key: ec.EllipticCurvePrivateKey,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    aud: str | None = None,
) -> httpx.Response:
    base = {
        "ttl": "60",
        "content-encoding": "aes128gcm",
        "authorization": vapid_header(key, aud or origin(subscription)),
    }
    base.update(headers or {})
    return await http.post(subscription["endpoint"], content=body, headers=base)


def origin(subscription: dict[str, Any]) -> str:
    url = httpx.URL(subscription["endpoint"])
    return f"{url.scheme}://{url.host}:{url.port}"


async def test_pywebpush_with_vapid_is_decrypted_to_what_was_sent(
    webpush_sim: WebPushSimulator,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
) -> None:
    vapid = Vapid02(private_key=vapid_key)
    text = '{"title": "Appointment booked", "body": "Tomorrow 10:00 ✓"}'
    response = await asyncio.to_thread(
        webpush,
        subscription_info=subscription,
        data=text,
        vapid_private_key=vapid,
        vapid_claims={"sub": "mailto:ops@example.com"},
        ttl=120,
        timeout=10,
    )
    assert response.status_code == 201
    assert response.headers["location"].startswith(webpush_sim.base_url + "/m/")
    assert webpush_sim.received_for(subscription["endpoint"]) == [text]
    [item] = webpush_sim.all_received()
    assert item.headers["ttl"] == "120"
    assert item.headers["content-encoding"] == "aes128gcm"


async def test_http_ece_body_is_decrypted_and_listed_by_control_api(
    webpush_sim: WebPushSimulator,
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
) -> None:
    body = encrypt_for(subscription, b"second encryptor")
    answer = await send(
        http, subscription, vapid_key, body=body, headers={"urgency": "high", "topic": "t-1"}
    )
    assert answer.status_code == 201
    assert answer.headers["ttl"] == "60"
    listed = (await http.get(f"{webpush_sim.base_url}/_sim/webpush/received")).json()
    [item] = listed["received"]
    assert item["body"] == "second encryptor"
    assert item["headers"]["urgency"] == "high"
    assert item["headers"]["topic"] == "t-1"
    counters = (await http.get(f"{webpush_sim.base_url}/_sim/webpush/counters")).json()
    assert counters["accepted"] == 1


@pytest.mark.parametrize(
    ("headers", "errno"),
    [
        ({"ttl": ""}, 111),
        ({"ttl": "soon"}, 111),
        ({"urgency": "urgent"}, 112),
        ({"urgency": "low, high"}, 112),
        ({"topic": "a" * 33}, 113),
        ({"topic": "no spaces"}, 113),
        ({"content-encoding": "aesgcm"}, 110),
    ],
)
async def test_bad_rfc8030_headers_answer_400(
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
    headers: dict[str, str],
    errno: int,
) -> None:
    body = encrypt_for(subscription, b"hi")
    answer = await send(http, subscription, vapid_key, body=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["errno"] == errno


async def test_missing_ttl_header_answers_400(
    webpush_sim: WebPushSimulator,
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
) -> None:
    headers = {"authorization": vapid_header(vapid_key, origin(subscription))}
    answer = await http.post(subscription["endpoint"], headers=headers)
    assert answer.status_code == 400
    assert answer.json() == {
        "code": 400,
        "errno": 111,
        "error": "Bad Request",
        "message": "a single non-negative integer TTL header is required",
    }
    assert webpush_sim.all_received() == []


async def test_restricted_subscription_without_vapid_answers_401(
    http: httpx.AsyncClient, subscription: dict[str, Any]
) -> None:
    answer = await http.post(subscription["endpoint"], headers={"ttl": "0"})
    assert answer.status_code == 401
    answer = await http.post(
        subscription["endpoint"], headers={"ttl": "0", "authorization": "WebPush abc.def.ghi"}
    )
    assert answer.status_code == 401


async def test_invalid_vapid_answers_403(
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
) -> None:
    other_key = ec.generate_private_key(ec.SECP256R1())
    here = origin(subscription)
    bad_headers = {
        "other key": vapid_header(other_key, here),
        "k of another key": vapid_header(vapid_key, here, k=public_key_b64(other_key)),
        "wrong aud": vapid_header(vapid_key, "https://push.example.net"),
        "expired": vapid_header(vapid_key, here, exp=time.time() - 10),
        "beyond 24 h": vapid_header(vapid_key, here, exp=time.time() + 25 * 3600),
        "no k": vapid_header(vapid_key, here).split(", k=")[0],
        "forged claims": forge_claims(
            vapid_header(vapid_key, here), {"aud": here, "exp": int(time.time()) + 60}
        ),
    }
    for case, header in bad_headers.items():
        answer = await http.post(
            subscription["endpoint"], headers={"ttl": "0", "authorization": header}
        )
        assert answer.status_code == 403, case
        assert answer.json()["errno"] == 109, case


async def test_unrestricted_subscription_accepts_no_vapid(
    webpush_sim: WebPushSimulator, http: httpx.AsyncClient
) -> None:
    subscription = webpush_sim.create_subscription()
    body = encrypt_for(subscription, b"open")
    headers = {"ttl": "5", "content-encoding": "aes128gcm"}
    answer = await http.post(subscription["endpoint"], content=body, headers=headers)
    assert answer.status_code == 201
    assert webpush_sim.received_for(subscription["endpoint"]) == ["open"]
    wrong_aud = vapid_header(ec.generate_private_key(ec.SECP256R1()), "https://elsewhere.example")
    checked = await http.post(
        subscription["endpoint"], headers={"ttl": "0", "authorization": wrong_aud}
    )
    assert checked.status_code == 403  # VAPID is optional here, but checked when sent


async def test_unknown_expired_and_unsubscribed_subscriptions(
    webpush_sim: WebPushSimulator,
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
) -> None:
    unknown = {**subscription, "endpoint": f"{webpush_sim.base_url}/wp/nobody"}
    assert (await send(http, unknown, vapid_key)).status_code == 404
    expired = webpush_sim.create_subscription(public_key_b64(vapid_key), expires_at=time.time() - 1)
    assert expired["expirationTime"] is not None
    assert (await send(http, expired, vapid_key)).status_code == 404
    await http.post(
        f"{webpush_sim.base_url}/_sim/webpush/dead",
        json={"token": subscription["endpoint"].rsplit("/", 1)[1]},
    )
    gone = await send(http, subscription, vapid_key)
    assert gone.status_code == 410
    assert gone.json()["code"] == 410


async def test_body_over_4096_bytes_answers_413(
    webpush_sim: WebPushSimulator,
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
) -> None:
    largest = encrypt_for(subscription, b"a" * 3993)
    assert len(largest) == 4096
    assert (await send(http, subscription, vapid_key, body=largest)).status_code == 201
    too_large = encrypt_for(subscription, b"a" * 3994)
    answer = await send(http, subscription, vapid_key, body=too_large)
    assert answer.status_code == 413
    assert answer.json()["errno"] == 104
    assert webpush_sim.received_for(subscription["endpoint"]) == ["a" * 3993]


async def test_throttling_fault_answers_429_with_retry_after(
    webpush_sim: WebPushSimulator,
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
) -> None:
    await http.post(
        f"{webpush_sim.base_url}/_sim/webpush/faults",
        json={"status": 429, "retry_after": 30, "count": 2},
    )
    for _ in range(2):
        answer = await send(http, subscription, vapid_key)
        assert answer.status_code == 429
        assert answer.headers["retry-after"] == "30"
    assert (await send(http, subscription, vapid_key)).status_code == 201


async def test_connection_reset_fault_drops_the_connection(
    webpush_sim: WebPushSimulator,
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
) -> None:
    webpush_sim.inject(Fault(action="reset"))
    with pytest.raises(httpx.RemoteProtocolError):
        await send(http, subscription, vapid_key)
    assert (await send(http, subscription, vapid_key)).status_code == 201


async def test_undecryptable_body_is_accepted_but_not_delivered(
    webpush_sim: WebPushSimulator,
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
) -> None:
    wrong = {
        **subscription,
        "keys": {**subscription["keys"], "auth": ece.b64url_encode(os.urandom(16))},
    }
    answer = await send(http, subscription, vapid_key, body=encrypt_for(wrong, b"lost"))
    assert answer.status_code == 201
    assert webpush_sim.all_received() == []
    assert webpush_sim.counters["decrypt_failed"] == 1


async def test_long_ttl_is_lowered_and_echoed(
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
    webpush_sim: WebPushSimulator,
) -> None:
    webpush_sim.max_ttl = 3600
    answer = await send(http, subscription, vapid_key, headers={"ttl": "999999"})
    assert answer.status_code == 201
    assert answer.headers["ttl"] == "3600"


async def test_registered_vapid_key_binds_new_subscriptions(
    webpush_sim: WebPushSimulator,
    http: httpx.AsyncClient,
    vapid_key: ec.EllipticCurvePrivateKey,
) -> None:
    registered = await http.post(
        f"{webpush_sim.base_url}/_sim/webpush/credentials",
        json={"public_key": public_key_b64(vapid_key)},
    )
    assert registered.status_code == 201
    subscription = (await http.post(f"{webpush_sim.base_url}/_sim/webpush/subscriptions")).json()
    assert (await http.post(subscription["endpoint"], headers={"ttl": "0"})).status_code == 401
    assert (await send(http, subscription, vapid_key)).status_code == 201
    bad = await http.post(
        f"{webpush_sim.base_url}/_sim/webpush/credentials", json={"public_key": "not-a-key"}
    )
    assert bad.status_code == 400


async def test_reset_forgets_everything(
    webpush_sim: WebPushSimulator,
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
) -> None:
    assert (await send(http, subscription, vapid_key)).status_code == 201
    await http.post(f"{webpush_sim.base_url}/_sim/webpush/reset")
    assert webpush_sim.all_received() == []
    assert (await send(http, subscription, vapid_key)).status_code == 404


async def test_malformed_subscription_requests_answer_400(
    webpush_sim: WebPushSimulator, http: httpx.AsyncClient
) -> None:
    url = f"{webpush_sim.base_url}/_sim/webpush/subscriptions"
    for payload in ({"applicationServerKey": "AAAA"}, {"expires_at": "tomorrow"}, [1]):
        assert (await http.post(url, json=payload)).status_code == 400
    assert webpush_sim.subscriptions == {}


async def test_a_verified_token_stays_bound_to_its_subscription_key(
    webpush_sim: WebPushSimulator,
    http: httpx.AsyncClient,
    subscription: dict[str, Any],
    vapid_key: ec.EllipticCurvePrivateKey,
) -> None:
    header = vapid_header(vapid_key, origin(subscription))
    other_key = public_key_b64(ec.generate_private_key(ec.SECP256R1()))
    other = webpush_sim.create_subscription(other_key)
    for target, status in ((subscription, 201), (subscription, 201), (other, 403)):
        answer = await http.post(target["endpoint"], headers={"ttl": "0", "authorization": header})
        assert answer.status_code == status
    # The cached token presented with the other subscription's key: the signature no
    # longer verifies under k, so the cache must not vouch for it.
    swapped = header.split(", k=")[0] + ", k=" + other_key
    answer = await http.post(other["endpoint"], headers={"ttl": "0", "authorization": swapped})
    assert answer.status_code == 403
