"""The Web Push client against the Web Push simulator over real sockets (docs/providers.md §3)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from pushgate.core.credentials.keys import application_server_key, vapid_private_key_text
from pushgate.core.messages import Message, Priority
from pushgate.core.models import Provider
from pushgate.core.outcomes import OutcomeKind, RetryClass
from pushgate.providers.base import Delivery
from pushgate.providers.webpush import WebPushProvider
from pushgate.simulators.base import Fault
from pushgate.simulators.webpush import WebPushSimulator
from tests.providers.http_material import (
    Clock,
    credentials,
    delivery,
    kinds,
    loopback_options,
    make_clock,
)

SUBJECT = "mailto:ops@example.com"


@pytest.fixture
def vapid_key(webpush_sim: WebPushSimulator) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    # Subscriptions minted from now on are restricted to this key (RFC 8292 §4).
    webpush_sim.register_credentials({"public_key": application_server_key(key)})
    return key


@pytest.fixture
def clock() -> Clock:
    return make_clock()


@pytest.fixture
async def provider(
    vapid_key: ec.EllipticCurvePrivateKey, clock: Clock
) -> AsyncIterator[WebPushProvider]:
    given = credentials(
        "webpush",
        {"subject": SUBJECT, "application_server_key": application_server_key(vapid_key)},
        {"vapid_private_key": vapid_private_key_text(vapid_key)},
    )
    made = WebPushProvider(given, loopback_options(clock))
    yield made
    await made.close()


def to_subscription(
    subscription: dict[str, Any], message: Message | None = None, **extra: Any
) -> Delivery:
    return delivery(
        Provider.WEBPUSH, subscription["endpoint"], message, keys=subscription["keys"], **extra
    )


async def test_sent_message_is_decrypted_by_the_browser_to_exactly_our_json(
    webpush_sim: WebPushSimulator, provider: WebPushProvider, clock: Clock
) -> None:
    subscription = webpush_sim.create_subscription()
    message = Message(
        title="Booked ✓",
        body="Tomorrow 10:00",
        data={"appointment": 7},
        priority=Priority.NORMAL,
        collapse_key="appointment-7",
    )
    item = to_subscription(subscription, message, ttl_seconds=600, now=clock.now - 60)
    [outcome] = await provider.send([item])
    assert outcome.kind is OutcomeKind.SENT
    assert outcome.provider_message_id is not None
    assert outcome.provider_message_id.startswith(f"{webpush_sim.base_url}/m/")
    [received] = webpush_sim.all_received()
    assert orjson.loads(received.body) == {
        "id": item.delivery_id,
        "title": "Booked ✓",
        "body": "Tomorrow 10:00",
        "data": {"appointment": 7},
        "collapse_key": "appointment-7",
        "priority": "normal",
    }
    # The message already waited a minute: the TTL passed on is what is left.
    assert 538 <= int(received.headers["ttl"]) <= 540
    assert received.headers["urgency"] == "normal"
    assert received.headers["topic"] == "appointment-7"
    assert received.headers["content-encoding"] == "aes128gcm"


async def test_long_collapse_key_becomes_a_valid_topic(
    webpush_sim: WebPushSimulator, provider: WebPushProvider
) -> None:
    subscription = webpush_sim.create_subscription()
    message = Message(title="x", collapse_key="a collapse key that is far longer than 32 chars")
    [outcome] = await provider.send([to_subscription(subscription, message)])
    assert outcome.kind is OutcomeKind.SENT
    [received] = webpush_sim.all_received()
    assert len(received.headers["topic"]) == 32
    assert received.headers["urgency"] == "high"


async def test_one_vapid_token_serves_many_messages(
    webpush_sim: WebPushSimulator, provider: WebPushProvider
) -> None:
    subscriptions = [webpush_sim.create_subscription() for _ in range(3)]
    outcomes = await provider.send([to_subscription(s) for s in subscriptions])
    assert kinds(outcomes) == [OutcomeKind.SENT] * 3
    # The push service verified one token and reused the verification for the others.
    assert len(webpush_sim.verified_tokens.expiry) == 1


async def test_oversize_payload_is_rejected_and_never_sent(
    webpush_sim: WebPushSimulator, provider: WebPushProvider
) -> None:
    subscription = webpush_sim.create_subscription()
    message = Message(title="big", body="x" * 4000)
    [outcome] = await provider.send([to_subscription(subscription, message)])
    assert outcome.kind is OutcomeKind.REJECTED
    assert "3993" in outcome.reason
    assert webpush_sim.counters["requests"] == 0


async def test_expired_delivery_is_rejected_without_a_request(
    webpush_sim: WebPushSimulator, provider: WebPushProvider, clock: Clock
) -> None:
    subscription = webpush_sim.create_subscription()
    item = to_subscription(subscription, ttl_seconds=10, now=clock.now - 20)
    [outcome] = await provider.send([item])
    assert outcome.kind is OutcomeKind.REJECTED
    assert webpush_sim.counters["requests"] == 0


async def test_unsubscribed_and_unknown_subscriptions_are_invalid_tokens(
    webpush_sim: WebPushSimulator, provider: WebPushProvider
) -> None:
    gone = webpush_sim.create_subscription()
    webpush_sim.unsubscribe(gone["endpoint"])
    unknown = {**webpush_sim.create_subscription()}
    unknown["endpoint"] = unknown["endpoint"] + "-unknown"
    outcomes = await provider.send([to_subscription(gone), to_subscription(unknown)])
    assert [(o.kind, o.status) for o in outcomes] == [
        (OutcomeKind.INVALID_TOKEN, 410),
        (OutcomeKind.INVALID_TOKEN, 404),
    ]


async def test_broken_subscription_keys_are_an_invalid_token_without_a_request(
    webpush_sim: WebPushSimulator, provider: WebPushProvider
) -> None:
    subscription = webpush_sim.create_subscription()
    subscription["keys"] = {"p256dh": "not-a-point", "auth": subscription["keys"]["auth"]}
    [outcome] = await provider.send([to_subscription(subscription)])
    assert outcome.kind is OutcomeKind.INVALID_TOKEN
    assert webpush_sim.counters["requests"] == 0


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, OutcomeKind.REJECTED),
        (401, OutcomeKind.AUTH_FAILED),
        (403, OutcomeKind.AUTH_FAILED),
        (404, OutcomeKind.INVALID_TOKEN),
        (410, OutcomeKind.INVALID_TOKEN),
        (413, OutcomeKind.REJECTED),
        (429, OutcomeKind.RETRY),
        (500, OutcomeKind.RETRY),
        (503, OutcomeKind.RETRY),
    ],
)
async def test_each_status_maps_to_its_outcome(
    webpush_sim: WebPushSimulator, provider: WebPushProvider, status: int, kind: OutcomeKind
) -> None:
    subscription = webpush_sim.create_subscription()
    subscription_id = subscription["endpoint"].rsplit("/", 1)[-1]
    webpush_sim.inject(Fault(status=status, token=subscription_id, reason="scripted"))
    [outcome] = await provider.send([to_subscription(subscription)])
    assert (outcome.kind, outcome.status) == (kind, status)
    assert "scripted" in outcome.reason
    if kind is OutcomeKind.RETRY:
        pace = RetryClass.WEBPUSH_TOO_MANY_REQUESTS if status == 429 else RetryClass.DEFAULT
        assert outcome.retry_class is pace
    assert webpush_sim.all_received() == []


async def test_retry_after_is_honoured(
    webpush_sim: WebPushSimulator, provider: WebPushProvider
) -> None:
    subscription = webpush_sim.create_subscription()
    webpush_sim.inject(Fault(status=429, retry_after=120))
    [outcome] = await provider.send([to_subscription(subscription)])
    assert (outcome.kind, outcome.retry_after) == (OutcomeKind.RETRY, 120.0)


def another_keys_subscription(webpush_sim: WebPushSimulator) -> dict[str, Any]:
    """A subscription the browser made under another app server key than ours."""
    other = application_server_key(ec.generate_private_key(ec.SECP256R1()))
    return webpush_sim.create_subscription(other)


async def test_vapid_key_of_another_app_is_auth_failed(
    webpush_sim: WebPushSimulator, provider: WebPushProvider
) -> None:
    # Alone, with no subscription of that push service known to accept the key, a
    # refusal is the key's: pausing can be undone, invalidating a device cannot.
    [outcome] = await provider.send([to_subscription(another_keys_subscription(webpush_sim))])
    assert (outcome.kind, outcome.status) == (OutcomeKind.AUTH_FAILED, 403)
    assert outcome.reason == "VAPID refused: VAPID public key mismatch"


async def test_a_subscription_of_another_key_beside_accepted_ones_is_invalid(
    webpush_sim: WebPushSimulator, provider: WebPushProvider
) -> None:
    good = [webpush_sim.create_subscription() for _ in range(2)]
    batch = [good[0], another_keys_subscription(webpush_sim), good[1]]
    outcomes = await provider.send([to_subscription(s) for s in batch])
    assert kinds(outcomes) == [OutcomeKind.SENT, OutcomeKind.INVALID_TOKEN, OutcomeKind.SENT]
    assert (outcomes[1].reason, outcomes[1].status) == (
        "vapid_key_mismatch: VAPID public key mismatch",
        403,
    )
    assert sorted(webpush_sim.received) == sorted(s["endpoint"].rsplit("/")[-1] for s in good)


async def test_a_lone_refusal_where_the_key_was_accepted_before_is_the_subscriptions(
    webpush_sim: WebPushSimulator, provider: WebPushProvider
) -> None:
    [first] = await provider.send([to_subscription(webpush_sim.create_subscription())])
    [lone] = await provider.send([to_subscription(another_keys_subscription(webpush_sim))])
    assert (first.kind, lone.kind) == (OutcomeKind.SENT, OutcomeKind.INVALID_TOKEN)
    assert lone.reason.startswith("vapid_key_mismatch")


async def test_every_subscription_of_a_service_refused_is_the_keys_failure(
    webpush_sim: WebPushSimulator, provider: WebPushProvider
) -> None:
    # The key was accepted once; then the service refuses it for every subscription of a
    # batch: that is the key (a pattern), and the service is no longer taken to accept it.
    [first] = await provider.send([to_subscription(webpush_sim.create_subscription())])
    webpush_sim.inject(Fault(status=403, count=2))
    both = await provider.send([to_subscription(webpush_sim.create_subscription()) for _ in "ab"])
    [lone] = await provider.send([to_subscription(another_keys_subscription(webpush_sim))])
    assert first.kind is OutcomeKind.SENT
    assert kinds([*both, lone]) == [OutcomeKind.AUTH_FAILED] * 3


async def test_connection_reset_mid_batch_gives_one_outcome_each_and_no_false_sent(
    webpush_sim: WebPushSimulator, provider: WebPushProvider
) -> None:
    subscriptions = [webpush_sim.create_subscription() for _ in range(5)]
    middle = subscriptions[2]["endpoint"].rsplit("/", 1)[-1]
    webpush_sim.inject(Fault(action="reset", token=middle))
    outcomes = await provider.send([to_subscription(s) for s in subscriptions])
    assert kinds(outcomes) == [OutcomeKind.SENT] * 2 + [OutcomeKind.RETRY] + [OutcomeKind.SENT] * 2
    received = {item.token for item in webpush_sim.all_received()}
    assert middle not in received
    assert len(received) == 4


async def test_private_endpoint_is_refused_unless_allowed(
    webpush_sim: WebPushSimulator, vapid_key: ec.EllipticCurvePrivateKey
) -> None:
    given = credentials(
        "webpush",
        {"subject": SUBJECT},
        {"vapid_private_key": vapid_private_key_text(vapid_key)},
    )
    guarded = WebPushProvider(given, loopback_options(allow_private_targets=False))
    try:
        [outcome] = await guarded.send([to_subscription(webpush_sim.create_subscription())])
    finally:
        await guarded.close()
    assert outcome.kind is OutcomeKind.REJECTED
    assert "loopback, private or link-local" in outcome.reason
    assert webpush_sim.counters["requests"] == 0
