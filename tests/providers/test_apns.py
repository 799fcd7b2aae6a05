"""The APNs provider against the APNs simulator over TLS + HTTP/2: what the simulator
receives, every answer of docs/providers.md §1.6 as an outcome, provider tokens, certificates,
and failures of the connection mid-batch."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from pushgate.core.messages import Message, Priority
from pushgate.core.outcomes import OutcomeKind, RetryClass
from pushgate.simulators.base import Fault
from pushgate.simulators.tls import (
    CertificateAuthority,
    issue_client_certificate,
    load_or_create_authority,
)
from tests.providers.harness import BUNDLE_ID, ApnsSetup, Clock, apns_token, delivery, start_apns

MINUTE = 60.0
# The body the first message of test_sends_what_it_means_to_send must arrive as.
EXPECTED_BODY = {
    "aps": {
        "alert": {"title": "Booked", "subtitle": "Tuesday", "body": "10:00 with Dr. Lee"},
        "badge": 3,
        "sound": "default",
        "category": "APPOINTMENT",
        "thread-id": "appointments",
        "interruption-level": "time-sensitive",
        "relevance-score": 0.5,
    },
    "appointment": 42,
    "kind": "booking",
}


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return load_or_create_authority(tmp_path_factory.mktemp("apns-tls"))


@pytest.fixture
async def apns(authority: CertificateAuthority) -> AsyncIterator[ApnsSetup]:
    setup = await start_apns(authority, Clock())
    yield setup
    await setup.server.close()


async def test_sends_what_it_means_to_send(apns: ApnsSetup) -> None:
    message = Message(
        title="Booked",
        subtitle="Tuesday",
        body="10:00 with Dr. Lee",
        data={"appointment": 42, "kind": "booking"},
        badge=3,
        sound="default",
        category="APPOINTMENT",
        thread_id="appointments",
        collapse_key="appt-42",
        interruption_level="time-sensitive",
        relevance_score=0.5,
    )
    first = delivery(apns_token(1), message, now=apns.clock.now)
    second = delivery(apns_token(2), now=apns.clock.now)
    provider = apns.provider()
    try:
        results = await provider.send([first, second])
    finally:
        await provider.close()
    assert [r.kind for r in results] == [OutcomeKind.SENT, OutcomeKind.SENT]
    assert results[0].provider_message_id == first.delivery_id
    [received] = apns.simulator.received[apns_token(1)]
    assert received.message_id == first.delivery_id
    assert received.body == EXPECTED_BODY
    headers = received.headers
    assert headers["apns-id"] == first.delivery_id
    assert headers["apns-topic"] == BUNDLE_ID
    assert (headers["apns-push-type"], headers["apns-priority"]) == ("alert", "10")
    assert headers["apns-expiration"] == str(first.expires_at // 1000)
    assert headers["apns-collapse-id"] == "appt-42"
    assert headers["authorization"].startswith("bearer ")
    assert "apns-collapse-id" not in apns.simulator.received[apns_token(2)][0].headers


async def test_silent_message_is_a_background_push_at_priority_5(apns: ApnsSetup) -> None:
    silent = Message(data={"sync": "inbox"}, priority=Priority.HIGH)
    normal = Message(title="Later", priority=Priority.NORMAL)
    provider = apns.provider()
    try:
        results = await provider.send(
            [delivery(apns_token(1), silent), delivery(apns_token(2), normal)]
        )
    finally:
        await provider.close()
    assert {r.kind for r in results} == {OutcomeKind.SENT}
    background = apns.simulator.received[apns_token(1)][0]
    assert background.body == {"aps": {"content-available": 1}, "sync": "inbox"}
    assert (background.headers["apns-push-type"], background.headers["apns-priority"]) == (
        "background",
        "5",
    )
    assert apns.simulator.received[apns_token(2)][0].headers["apns-priority"] == "5"


async def test_voip_push_uses_the_voip_topic_and_its_larger_limit(apns: ApnsSetup) -> None:
    big = {"blob": "x" * 4500}
    voip = Message(data=big, overrides={"apns": {"push_type": "voip"}})
    alert = Message(title="t", data=big)
    provider = apns.provider()
    try:
        results = await provider.send(
            [delivery(apns_token(1), voip), delivery(apns_token(2), alert)]
        )
    finally:
        await provider.close()
    assert results[0].kind is OutcomeKind.SENT
    assert apns.simulator.received[apns_token(1)][0].headers["apns-topic"] == f"{BUNDLE_ID}.voip"
    assert results[1].kind is OutcomeKind.REJECTED
    assert "payload too large" in results[1].reason
    assert apns_token(2) not in apns.simulator.received


async def test_refused_before_sending(apns: ApnsSetup) -> None:
    oversize = Message(title="t", data={"blob": "x" * 5000})
    long_collapse = Message(title="t", collapse_key="c" * 65)
    expired = delivery(apns_token(3), expires_at=int((apns.clock.now - 1) * 1000))
    provider = apns.provider()
    try:
        results = await provider.send(
            [
                delivery(apns_token(1), oversize),
                delivery(apns_token(2), long_collapse),
                expired,
                delivery("not-hex!"),
            ]
        )
    finally:
        await provider.close()
    kinds = [r.kind for r in results]
    assert kinds == [OutcomeKind.REJECTED] * 3 + [OutcomeKind.INVALID_TOKEN]
    assert apns.simulator.counters["requests"] == 0


# Every row of docs/providers.md §1.6, produced by the simulator's scripted faults.
ANSWERS = [
    (400, "BadCollapseId", OutcomeKind.REJECTED),
    (400, "BadExpirationDate", OutcomeKind.REJECTED),
    (400, "BadMessageId", OutcomeKind.REJECTED),
    (400, "BadPriority", OutcomeKind.REJECTED),
    (400, "BadTopic", OutcomeKind.REJECTED),
    (400, "DuplicateHeaders", OutcomeKind.REJECTED),
    (400, "InvalidPushType", OutcomeKind.REJECTED),
    (400, "MissingDeviceToken", OutcomeKind.REJECTED),
    (400, "MissingTopic", OutcomeKind.REJECTED),
    (400, "PayloadEmpty", OutcomeKind.REJECTED),
    (400, "TopicDisallowed", OutcomeKind.REJECTED),
    (400, "BadDeviceToken", OutcomeKind.INVALID_TOKEN),
    (400, "DeviceTokenNotForTopic", OutcomeKind.INVALID_TOKEN),
    (400, "IdleTimeout", OutcomeKind.RETRY),
    (403, "BadCertificate", OutcomeKind.AUTH_FAILED),
    (403, "BadCertificateEnvironment", OutcomeKind.AUTH_FAILED),
    (403, "InvalidProviderToken", OutcomeKind.AUTH_FAILED),
    (403, "MissingProviderToken", OutcomeKind.AUTH_FAILED),
    (403, "BadEnvironmentKeyIdInToken", OutcomeKind.AUTH_FAILED),
    (403, "UnrelatedKeyIdInToken", OutcomeKind.RETRY),
    (403, "Forbidden", OutcomeKind.REJECTED),
    (404, "BadPath", OutcomeKind.REJECTED),
    (405, "MethodNotAllowed", OutcomeKind.REJECTED),
    (410, "ExpiredToken", OutcomeKind.INVALID_TOKEN),
    (410, "Unregistered", OutcomeKind.INVALID_TOKEN),
    (413, "PayloadTooLarge", OutcomeKind.REJECTED),
    (429, "TooManyProviderTokenUpdates", OutcomeKind.RETRY),
    (429, "TooManyRequests", OutcomeKind.RETRY),
    (500, "InternalServerError", OutcomeKind.RETRY),
    (503, "ServiceUnavailable", OutcomeKind.RETRY),
    (503, "Shutdown", OutcomeKind.RETRY),
    (418, "SomethingNew", OutcomeKind.REJECTED),
    (502, "SomethingNew", OutcomeKind.RETRY),
]
# The retry table's row of each answer tried again (docs/providers.md §1.5-1.6).
RETRY_CLASSES = {
    "IdleTimeout": RetryClass.DEFAULT,
    "UnrelatedKeyIdInToken": RetryClass.DEFAULT,
    "TooManyProviderTokenUpdates": RetryClass.APNS_TOKEN_UPDATES,
    "TooManyRequests": RetryClass.APNS_TOO_MANY_REQUESTS,
    "InternalServerError": RetryClass.APNS_UNAVAILABLE,
    "ServiceUnavailable": RetryClass.APNS_UNAVAILABLE,
    "Shutdown": RetryClass.DEFAULT,
    "SomethingNew": RetryClass.APNS_UNAVAILABLE,
}


@pytest.mark.parametrize(
    ("status", "reason", "kind"), ANSWERS, ids=[a[1] + str(a[0]) for a in ANSWERS]
)
async def test_every_answer_maps_to_its_outcome(
    apns: ApnsSetup, status: int, reason: str, kind: OutcomeKind
) -> None:
    apns.simulator.inject(Fault(status=status, reason=reason))
    provider = apns.provider()
    try:
        [result] = await provider.send([delivery(apns_token(1))])
    finally:
        await provider.close()
    assert (result.kind, result.reason, result.status) == (kind, reason, status)
    if kind is OutcomeKind.RETRY:
        assert result.retry_class is RETRY_CLASSES[reason]
    assert apns.simulator.all_received() == []


async def test_dead_token_carries_the_time_it_died(apns: ApnsSetup) -> None:
    apns.simulator.mark_dead(apns_token(1), since=1_700_000_000.25)
    apns.simulator.register_device(apns_token(2), bundle_id="com.other.app")
    apns.simulator.register_device(apns_token(3), environment="sandbox")
    provider = apns.provider()
    try:
        results = await provider.send([delivery(apns_token(i)) for i in (1, 2, 3)])
    finally:
        await provider.close()
    assert [(r.kind, r.reason, r.invalid_since) for r in results] == [
        (OutcomeKind.INVALID_TOKEN, "Unregistered", 1_700_000_000_250),
        (OutcomeKind.INVALID_TOKEN, "DeviceTokenNotForTopic", None),
        (OutcomeKind.INVALID_TOKEN, "BadDeviceToken", None),
    ]


async def test_retry_after_is_honoured(apns: ApnsSetup) -> None:
    apns.simulator.inject(Fault(status=429, retry_after=7, token=apns_token(1)))
    apns.simulator.inject(Fault(status=503, retry_after=120, token=apns_token(2)))
    provider = apns.provider()
    try:
        results = await provider.send([delivery(apns_token(1)), delivery(apns_token(2))])
    finally:
        await provider.close()
    assert [(r.kind, r.retry_after) for r in results] == [
        (OutcomeKind.RETRY, 7.0),
        (OutcomeKind.RETRY, 120.0),
    ]


def _public_key_pem(apns: ApnsSetup) -> bytes:
    private = serialization.load_pem_private_key(apns.key.private_pem.encode(), None)
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _tokens_seen(apns: ApnsSetup) -> list[str]:
    seen: list[str] = []
    for item in sorted(apns.simulator.all_received(), key=lambda r: r.received_at):
        value = item.headers["authorization"].removeprefix("bearer ")
        if value not in seen:
            seen.append(value)
    return seen


async def test_one_token_reused_for_40_minutes_then_replaced(apns: ApnsSetup) -> None:
    apns.clock.advance(-45 * MINUTE)  # so that PyJWT sees every iat in the past
    started = apns.clock.now
    provider = apns.provider(connections=2)
    try:
        first = await provider.send([delivery(apns_token(i)) for i in range(50)])
        apns.clock.advance(39 * MINUTE)
        reused = await provider.send([delivery(apns_token(50))])
        apns.clock.advance(2 * MINUTE)
        renewed = await provider.send([delivery(apns_token(51))])
    finally:
        await provider.close()
    assert {r.kind for r in [*first, *reused, *renewed]} == {OutcomeKind.SENT}
    tokens = _tokens_seen(apns)
    assert len(tokens) == 2
    public_key = _public_key_pem(apns)
    claims = [jwt.decode(t, public_key, algorithms=["ES256"]) for t in tokens]
    assert claims == [
        {"iss": apns.key.team_id, "iat": int(started)},
        {"iss": apns.key.team_id, "iat": int(started + 41 * MINUTE)},
    ]
    assert jwt.get_unverified_header(tokens[0]) == {"alg": "ES256", "kid": apns.key.key_id}


async def test_expired_provider_token_is_replaced_and_retried_once(apns: ApnsSetup) -> None:
    provider = apns.provider()
    try:
        await provider.send([delivery(apns_token(1))])
        apns.clock.advance(21 * MINUTE)
        apns.simulator.inject(Fault(status=403, reason="ExpiredProviderToken"))
        [result] = await provider.send([delivery(apns_token(2))])
    finally:
        await provider.close()
    assert result.kind is OutcomeKind.SENT
    assert len(_tokens_seen(apns)) == 2
    assert [r.token for r in apns.simulator.all_received()] == [apns_token(1), apns_token(2)]


async def test_a_young_token_called_expired_is_replaced_and_the_delivery_sent(
    apns: ApnsSetup, caplog: pytest.LogCaptureFixture
) -> None:
    # Apple calls a 5-minute-old token expired (its clock and ours disagree, once): a new
    # token is minted at once and the delivery goes out; nothing for the sender to pause.
    provider = apns.provider(connections=1)
    try:
        await provider.send([delivery(apns_token(1))])
        apns.clock.advance(5 * MINUTE)
        apns.simulator.inject(Fault(status=403, reason="ExpiredProviderToken"))
        with caplog.at_level(logging.WARNING, logger="pushgate.providers.apns"):
            [result] = await provider.send([delivery(apns_token(2))])
    finally:
        await provider.close()
    assert result.kind is OutcomeKind.SENT
    assert len(_tokens_seen(apns)) == 2
    assert [r.token for r in apns.simulator.all_received()] == [apns_token(1), apns_token(2)]
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "ExpiredProviderToken" in warning
    assert "minted 300 s ago" in warning


async def test_a_new_token_called_expired_too_fails_auth(
    apns: ApnsSetup, caplog: pytest.LogCaptureFixture
) -> None:
    # The simulator's clock runs more than an hour ahead: every token we mint looks stale.
    # One new token is tried; refused too, the deliveries are auth_failed (the sender pauses
    # the credentials) and no third token is minted for the next batch.
    apns.simulator.clock = lambda: apns.clock.now + 3700
    provider = apns.provider()
    try:
        with caplog.at_level(logging.WARNING, logger="pushgate.providers.apns"):
            [result] = await provider.send([delivery(apns_token(1))])
            [again] = await provider.send([delivery(apns_token(2))])
    finally:
        await provider.close()
    for outcome in (result, again):
        assert (outcome.kind, outcome.reason) == (OutcomeKind.AUTH_FAILED, "ExpiredProviderToken")
    assert apns.simulator.counters["rejected_ExpiredProviderToken"] == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "sending 1 deliveries again with a new token" in warnings[0]
    assert "refused the new token" in warnings[1]
    assert "the credentials will be paused" in warnings[2]


async def test_certificate_auth(apns: ApnsSetup) -> None:
    issued = issue_client_certificate(apns.authority, BUNDLE_ID, name=f"c{uuid.uuid4().hex}")
    provider = apns.provider(apns.certificate_credentials(issued.pkcs12_path))
    try:
        [result] = await provider.send([delivery(apns_token(1))])
    finally:
        await provider.close()
    assert result.kind is OutcomeKind.SENT
    [received] = apns.simulator.received[apns_token(1)]
    assert "authorization" not in received.headers
    assert received.headers["apns-topic"] == BUNDLE_ID


async def test_connection_reset_mid_batch(apns: ApnsSetup) -> None:
    batch = [delivery(apns_token(i)) for i in range(40)]
    apns.simulator.inject(Fault(action="reset", token=apns_token(20)))
    provider = apns.provider(connections=1)
    try:
        results = await provider.send(batch)
        [after] = await provider.send([delivery(apns_token(99))])
    finally:
        await provider.close()
    assert len(results) == len(batch)
    assert {r.kind for r in results} <= {OutcomeKind.SENT, OutcomeKind.RETRY}
    assert results[20].kind is OutcomeKind.RETRY
    received = [r.message_id for r in apns.simulator.all_received()]
    sent = [
        d.delivery_id for d, r in zip(batch, results, strict=True) if r.kind is OutcomeKind.SENT
    ]
    assert set(sent) <= set(received)
    assert len(received) == len(set(received))  # nothing was resent behind our back
    assert after.kind is OutcomeKind.SENT  # the pool reconnected
    assert apns.simulator.counters["faults"] == 1


async def test_goaway_mid_batch_resends_the_refused_streams(apns: ApnsSetup) -> None:
    batch = [delivery(apns_token(i)) for i in range(40)]
    apns.simulator.inject(Fault(action="goaway", token=apns_token(20)))
    provider = apns.provider(connections=1)
    try:
        results = await provider.send(batch)
    finally:
        await provider.close()
    assert [r.kind for r in results] == [OutcomeKind.SENT] * len(batch)
    received = sorted(r.message_id for r in apns.simulator.all_received())
    assert received == sorted(d.delivery_id for d in batch)
    assert apns.simulator.counters["faults"] == 1


async def test_a_batch_beyond_the_stream_limits_is_sent_whole_and_once(
    authority: CertificateAuthority,
) -> None:
    # One stream per connection until the first valid token, then ten (§1.5 for the one).
    apns = await start_apns(authority, Clock(), max_concurrent_streams=10)
    batch = [delivery(apns_token(i), now=apns.clock.now) for i in range(300)]
    provider = apns.provider(connections=2)
    try:
        results = await provider.send(batch)
    finally:
        await provider.close()
        await apns.server.close()
    assert [r.kind for r in results] == [OutcomeKind.SENT] * len(batch)
    assert [r.provider_message_id for r in results] == [d.delivery_id for d in batch]
    received = [(r.token, r.message_id) for r in apns.simulator.all_received()]
    assert sorted(received) == sorted((d.device.token, d.delivery_id) for d in batch)


async def test_expired_provider_token_mid_batch_resends_only_those(apns: ApnsSetup) -> None:
    first = delivery(apns_token(0))
    batch = [delivery(apns_token(i)) for i in range(1, 11)]
    provider = apns.provider(connections=1)
    try:
        await provider.send([first])
        apns.clock.advance(21 * MINUTE)
        apns.simulator.inject(Fault(status=403, reason="ExpiredProviderToken", count=3))
        results = await provider.send(batch)
    finally:
        await provider.close()
    assert [r.kind for r in results] == [OutcomeKind.SENT] * len(batch)
    assert len(_tokens_seen(apns)) == 2
    assert apns.simulator.counters["requests"] == 1 + len(batch) + 3  # three sent twice
    received = sorted(r.message_id for r in apns.simulator.all_received())
    assert received == sorted(d.delivery_id for d in [first, *batch])
