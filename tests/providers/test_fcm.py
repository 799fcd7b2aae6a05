"""The FCM provider against the FCM simulator over h2c (send) and HTTP/1.1 (OAuth): what
the simulator receives, every errorCode of docs/providers.md §2.5 as an outcome, access-token
caching and refresh, and failures of the connection mid-batch."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pushgate.core.messages import Message, Priority
from pushgate.core.models import Provider
from pushgate.core.outcomes import Outcome, OutcomeKind, RetryClass
from pushgate.providers.base import Delivery
from pushgate.simulators.base import Fault
from tests.providers.harness import PROJECT_ID, Clock, FcmSetup, delivery, start_fcm

MINUTE = 60.0


def fcm_token(index: int = 0) -> str:
    return f"fcm-token:{index:04d}_abcdefghijklmnopqrstuvwxyz"


def fcm_delivery(
    token: str, message: Message | None = None, *, expires_at: int | None = None
) -> Delivery:
    return delivery(token, message, provider=Provider.FCM, expires_at=expires_at)


def expected_message(expires_at: int) -> dict[str, object]:
    """What test_sends_what_it_means_to_send's message must arrive as."""
    return {
        "token": fcm_token(1),
        "notification": {
            "title": "Booked",
            "body": "10:00 with Dr. Lee",
            "image": "https://example.com/a.png",
        },
        "data": {"appointment": "42", "kind": "booking", "tags": '["a","b"]'},
        "android": {
            "priority": "HIGH",
            "ttl": "600s",
            "collapse_key": "appt-42",
            "notification": {"sound": "default", "notification_count": 2},
        },
        "apns": {
            "headers": {
                "apns-priority": "10",
                "apns-expiration": str(expires_at // 1000),
                "apns-push-type": "alert",
                "apns-collapse-id": "appt-42",
            },
            "payload": {
                "aps": {
                    "alert": {"title": "Booked", "body": "10:00 with Dr. Lee"},
                    "badge": 2,
                    "sound": "default",
                    "mutable-content": 1,
                }
            },
        },
        "webpush": {"headers": {"TTL": "600", "Urgency": "high", "Topic": "appt-42"}},
    }


@pytest.fixture
async def fcm() -> AsyncIterator[FcmSetup]:
    setup = await start_fcm(Clock())
    yield setup
    await setup.server.close()


async def send(fcm: FcmSetup, batch: list[Delivery], **options: object) -> list[Outcome]:
    provider = fcm.provider(**options)
    try:
        return await provider.send(batch)
    finally:
        await provider.close()


async def test_sends_what_it_means_to_send(fcm: FcmSetup) -> None:
    message = Message(
        title="Booked",
        body="10:00 with Dr. Lee",
        image="https://example.com/a.png",
        data={"appointment": 42, "kind": "booking", "tags": ["a", "b"]},
        badge=2,
        sound="default",
        collapse_key="appt-42",
    )
    expires_at = int((fcm.clock.now + 600) * 1000)
    item = fcm_delivery(fcm_token(1), message, expires_at=expires_at)
    [result] = await send(fcm, [item])
    assert result.kind is OutcomeKind.SENT
    [received] = fcm.simulator.received[fcm_token(1)]
    assert result.provider_message_id == received.message_id
    assert received.message_id.startswith(f"projects/{PROJECT_ID}/messages/")
    assert received.body == expected_message(expires_at)
    assert received.headers["authorization"].startswith("Bearer ya29.")


async def test_data_message_and_overrides(fcm: FcmSetup) -> None:
    message = Message(
        data={"sync": True},
        priority=Priority.NORMAL,
        overrides={"fcm": {"android": {"restricted_package_name": "com.example.app"}}},
    )
    [result] = await send(fcm, [fcm_delivery(fcm_token(1), message)])
    assert result.kind is OutcomeKind.SENT
    body = fcm.simulator.received[fcm_token(1)][0].body
    assert "notification" not in body
    assert body["data"] == {"sync": "true"}
    assert body["android"]["priority"] == "NORMAL"
    assert body["android"]["restricted_package_name"] == "com.example.app"
    assert body["apns"]["headers"]["apns-priority"] == "5"
    assert body["apns"]["payload"] == {"aps": {"content-available": 1}}


async def test_refused_before_sending(fcm: FcmSetup) -> None:
    oversize = Message(title="t", data={"blob": "x" * 4100})
    reserved = Message(title="t", data={"google.key": "v"})
    expired = fcm_delivery(fcm_token(3), expires_at=int((fcm.clock.now - 1) * 1000))
    results = await send(
        fcm, [fcm_delivery(fcm_token(1), oversize), fcm_delivery(fcm_token(2), reserved), expired]
    )
    assert [r.kind for r in results] == [OutcomeKind.REJECTED] * 3
    assert "payload too large" in results[0].reason
    assert fcm.simulator.all_received() == []
    assert fcm.simulator.counters["rejected_INVALID_ARGUMENT"] == 0


# Every row of docs/providers.md §2.5, produced by the simulator's scripted faults.
ERRORS = [
    (400, "INVALID_ARGUMENT", OutcomeKind.REJECTED),
    (404, "UNREGISTERED", OutcomeKind.INVALID_TOKEN),
    (403, "SENDER_ID_MISMATCH", OutcomeKind.INVALID_TOKEN),
    (429, "QUOTA_EXCEEDED", OutcomeKind.RETRY),
    (503, "UNAVAILABLE", OutcomeKind.RETRY),
    (500, "INTERNAL", OutcomeKind.RETRY),
    (401, "THIRD_PARTY_AUTH_ERROR", OutcomeKind.AUTH_FAILED),
    (401, "UNAUTHENTICATED", OutcomeKind.AUTH_FAILED),  # persistently: refreshing did not help
]


@pytest.mark.parametrize(("status", "code", "kind"), ERRORS, ids=[f"{e[1]}{e[0]}" for e in ERRORS])
async def test_every_error_code_maps_to_its_outcome(
    fcm: FcmSetup, status: int, code: str, kind: OutcomeKind
) -> None:
    fcm.simulator.inject(Fault(status=status, reason=code, retry_after=3, count=2))
    [result] = await send(fcm, [fcm_delivery(fcm_token(1))])
    assert (result.kind, result.status) == (kind, status)
    assert result.reason.startswith(code)
    if kind is OutcomeKind.RETRY:
        assert result.retry_after == 3.0
        # §2.5: a quota answer waits a minute at least, the others from a second.
        quota = code == "QUOTA_EXCEEDED"
        pace = RetryClass.FCM_QUOTA_EXCEEDED if quota else RetryClass.FCM_UNAVAILABLE
        assert result.retry_class is pace
    assert fcm.simulator.all_received() == []


async def test_real_answers_for_dead_foreign_and_malformed_tokens(fcm: FcmSetup) -> None:
    fcm.simulator.mark_dead(fcm_token(1))
    fcm.simulator.register_device(fcm_token(2), "another-project")
    results = await send(
        fcm, [fcm_delivery(fcm_token(1)), fcm_delivery(fcm_token(2)), fcm_delivery("bad token!")]
    )
    assert [(r.kind, r.status) for r in results] == [
        (OutcomeKind.INVALID_TOKEN, 404),
        (OutcomeKind.INVALID_TOKEN, 403),
        (OutcomeKind.INVALID_TOKEN, 400),
    ]
    assert [r.reason.split(":")[0] for r in results] == [
        "UNREGISTERED",
        "SENDER_ID_MISMATCH",
        "INVALID_ARGUMENT",
    ]


async def test_quota_exceeded_carries_retry_after(fcm: FcmSetup) -> None:
    fcm.simulator.set_quota(PROJECT_ID, 2)
    results = await send(fcm, [fcm_delivery(fcm_token(i)) for i in range(3)], connections=1)
    kinds = sorted(r.kind for r in results)
    assert kinds == [OutcomeKind.RETRY, OutcomeKind.SENT, OutcomeKind.SENT]
    [limited] = [r for r in results if r.kind is OutcomeKind.RETRY]
    assert limited.reason == "QUOTA_EXCEEDED"
    assert limited.retry_class is RetryClass.FCM_QUOTA_EXCEEDED
    assert limited.retry_after is not None
    assert 1 <= limited.retry_after <= 60


async def test_wrong_project_is_an_auth_failure(fcm: FcmSetup) -> None:
    credentials = fcm.credentials(project_id="someone-else")
    provider = fcm.provider(credentials)
    try:
        [result] = await provider.send([fcm_delivery(fcm_token(1))])
    finally:
        await provider.close()
    assert (result.kind, result.reason, result.status) == (
        OutcomeKind.AUTH_FAILED,
        "PERMISSION_DENIED",
        403,
    )


async def test_unknown_service_account_fails_every_delivery(fcm: FcmSetup) -> None:
    credentials = fcm.credentials(client_email="nobody@pushgate-test.iam.gserviceaccount.com")
    provider = fcm.provider(credentials)
    try:
        results = await provider.send([fcm_delivery(fcm_token(i)) for i in range(3)])
    finally:
        await provider.close()
    assert [r.kind for r in results] == [OutcomeKind.AUTH_FAILED] * 3
    assert "invalid_grant" in results[0].reason
    assert fcm.simulator.counters["accepted"] == 0


async def test_access_token_is_cached_then_refreshed_before_expiry(fcm: FcmSetup) -> None:
    # Start 56 minutes in the past so every assertion's iat and exp are plausible to the
    # token endpoint, which checks them against the real time.
    fcm.clock.advance(-56 * MINUTE)
    provider = fcm.provider()
    try:
        await provider.send([fcm_delivery(fcm_token(i)) for i in range(20)])
        fcm.clock.advance(50 * MINUTE)
        await provider.send([fcm_delivery(fcm_token(20))])
        grants_before_margin = provider.tokens.grants
        fcm.clock.advance(6 * MINUTE)  # 56 min: inside the 5-minute margin of 3599 s
        results = await provider.send([fcm_delivery(fcm_token(21))])
        grants_after = provider.tokens.grants
    finally:
        await provider.close()
    assert results[0].kind is OutcomeKind.SENT
    assert (grants_before_margin, grants_after) == (1, 2)
    authorizations = [r.headers["authorization"] for r in fcm.simulator.all_received()]
    assert len(set(authorizations[:21])) == 1
    assert authorizations[21] != authorizations[0]


async def test_unauthenticated_refreshes_once_and_retries(fcm: FcmSetup) -> None:
    fcm.simulator.inject(Fault(status=401, reason="UNAUTHENTICATED", count=1))
    provider = fcm.provider()
    try:
        [recovered] = await provider.send([fcm_delivery(fcm_token(1))])
        assert provider.tokens.grants == 2
        fcm.simulator.inject(Fault(status=401, reason="UNAUTHENTICATED", count=2))
        [failed] = await provider.send([fcm_delivery(fcm_token(2))])
    finally:
        await provider.close()
    assert recovered.kind is OutcomeKind.SENT
    assert (failed.kind, failed.reason) == (OutcomeKind.AUTH_FAILED, "UNAUTHENTICATED")
    assert [r.token for r in fcm.simulator.all_received()] == [fcm_token(1)]


async def test_unauthenticated_answers_mid_batch_are_resent_with_a_new_token(
    fcm: FcmSetup,
) -> None:
    fcm.simulator.inject(Fault(status=401, reason="UNAUTHENTICATED", count=3))
    batch = [fcm_delivery(fcm_token(i)) for i in range(10)]
    provider = fcm.provider(connections=1)
    try:
        results = await provider.send(batch)
        grants = provider.tokens.grants
    finally:
        await provider.close()
    assert [r.kind for r in results] == [OutcomeKind.SENT] * len(batch)
    assert grants == 2
    received = sorted(r.token for r in fcm.simulator.all_received())
    assert received == sorted(d.device.token for d in batch)


async def test_connection_reset_mid_batch(fcm: FcmSetup) -> None:
    batch = [fcm_delivery(fcm_token(i)) for i in range(40)]
    fcm.simulator.inject(Fault(action="reset", token=fcm_token(20)))
    provider = fcm.provider(connections=1)
    try:
        results = await provider.send(batch)
        [after] = await provider.send([fcm_delivery(fcm_token(99))])
    finally:
        await provider.close()
    assert len(results) == len(batch)
    assert {r.kind for r in results} <= {OutcomeKind.SENT, OutcomeKind.RETRY}
    assert results[20].kind is OutcomeKind.RETRY
    received_tokens = [r.token for r in fcm.simulator.all_received()]
    sent_tokens = [
        d.device.token for d, r in zip(batch, results, strict=True) if r.kind is OutcomeKind.SENT
    ]
    assert set(sent_tokens) <= set(received_tokens)
    assert len(received_tokens) == len(set(received_tokens))
    assert after.kind is OutcomeKind.SENT
    assert fcm.simulator.counters["faults"] == 1


async def test_goaway_mid_batch_resends_the_refused_streams(fcm: FcmSetup) -> None:
    batch = [fcm_delivery(fcm_token(i)) for i in range(40)]
    fcm.simulator.inject(Fault(action="goaway", token=fcm_token(20)))
    results = await send(fcm, batch, connections=1)
    assert [r.kind for r in results] == [OutcomeKind.SENT] * len(batch)
    received = sorted(r.token for r in fcm.simulator.all_received())
    assert received == sorted(d.device.token for d in batch)
    assert fcm.simulator.counters["faults"] == 1
