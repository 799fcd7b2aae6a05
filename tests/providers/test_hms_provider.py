"""The HMS Push Kit client against the HMS simulator over real sockets (docs/providers.md §5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from pushgate.core.messages import Message, Priority
from pushgate.core.models import Provider
from pushgate.core.outcomes import OutcomeKind, RetryClass
from pushgate.providers.base import Delivery
from pushgate.providers.hms import HmsProvider
from pushgate.simulators.base import Fault
from pushgate.simulators.hms import HmsSimulator
from pushgate.simulators.server import start
from tests.providers.http_material import (
    Clock,
    credentials,
    delivery,
    kinds,
    loopback_options,
    make_clock,
)

APP_ID = "103456789"
SECRET = "a1b2c3d4e5f6"


@pytest.fixture
async def hms_sim() -> AsyncIterator[HmsSimulator]:
    simulator = HmsSimulator()
    running = await start(simulator)
    simulator.register_credentials({"client_id": APP_ID, "client_secret": SECRET})
    yield simulator
    await running.close()


@pytest.fixture
def clock() -> Clock:
    return make_clock()


def make_provider(
    hms_sim: HmsSimulator, clock: Clock, secret: str = SECRET, **options: Any
) -> HmsProvider:
    given = credentials(
        "hms",
        {
            "app_id": APP_ID,
            "token_url": f"{hms_sim.base_url}/oauth2/v3/token",
            "base_url": hms_sim.base_url,
        },
        {"client_secret": secret},
    )
    return HmsProvider(given, loopback_options(clock, **options))


@pytest.fixture
async def provider(hms_sim: HmsSimulator, clock: Clock) -> AsyncIterator[HmsProvider]:
    made = make_provider(hms_sim, clock)
    yield made
    await made.close()


MESSAGE = Message(title="Booked", body="10:00 tomorrow", data={"appointment": 7})


def to_tokens(tokens: list[str], message: Message = MESSAGE, **extra: Any) -> list[Delivery]:
    return [delivery(Provider.HMS, token, message, **extra) for token in tokens]


def send_requests(hms_sim: HmsSimulator) -> int:
    """Requests that reached the send path (the token endpoint and control routes excluded)."""
    return hms_sim.counters["requests"] - len(hms_sim.issuer.tokens)


async def test_one_request_carries_the_batch_with_android_block_and_data_string(
    hms_sim: HmsSimulator, provider: HmsProvider, clock: Clock
) -> None:
    batch = to_tokens(["tok-a", "tok-b", "tok-c"], ttl_seconds=7200, now=clock.now - 200)
    outcomes = await provider.send(batch)
    assert kinds(outcomes) == [OutcomeKind.SENT] * 3
    assert len({o.provider_message_id for o in outcomes}) == 1
    assert send_requests(hms_sim) == 1
    assert sorted(hms_sim.received) == ["tok-a", "tok-b", "tok-c"]
    body = hms_sim.received["tok-a"][0].body
    assert orjson.loads(body["data"]) == {"appointment": 7}
    android = body["android"]
    assert android["urgency"] == "HIGH"
    assert 6998 <= int(android["ttl"].removesuffix("s")) <= 7000
    assert android["notification"] == {
        "title": "Booked",
        "body": "10:00 tomorrow",
        "click_action": {"type": 3},
    }


async def test_data_only_message_has_no_notification_and_normal_urgency(
    hms_sim: HmsSimulator, provider: HmsProvider
) -> None:
    message = Message(data={"sync": "now"}, priority=Priority.NORMAL, collapse_key="5")
    assert kinds(await provider.send(to_tokens(["tok-a"], message))) == [OutcomeKind.SENT]
    android = hms_sim.received["tok-a"][0].body["android"]
    assert "notification" not in android
    assert (android["urgency"], android["collapse_key"]) == ("NORMAL", 5)


async def test_more_than_1000_tokens_are_split_and_other_messages_go_apart(
    hms_sim: HmsSimulator, provider: HmsProvider
) -> None:
    batch = to_tokens([f"tok-{i}" for i in range(1001)])
    batch += to_tokens(["other"], Message(title="Another message"))
    outcomes = await provider.send(batch)
    assert kinds(outcomes) == [OutcomeKind.SENT] * 1002
    assert send_requests(hms_sim) == 3
    assert len(hms_sim.received) == 1002


async def test_partial_success_marks_illegal_tokens_and_sends_the_rest(
    hms_sim: HmsSimulator, provider: HmsProvider
) -> None:
    hms_sim.mark_dead("tok-dead")
    outcomes = await provider.send(to_tokens(["tok-a", "tok-dead", "tok-b"]))
    assert kinds(outcomes) == [OutcomeKind.SENT, OutcomeKind.INVALID_TOKEN, OutcomeKind.SENT]
    assert sorted(hms_sim.received) == ["tok-a", "tok-b"]


async def test_all_tokens_invalid_is_80300007(hms_sim: HmsSimulator, provider: HmsProvider) -> None:
    for token in ("tok-a", "tok-b"):
        hms_sim.mark_dead(token)
    outcomes = await provider.send(to_tokens(["tok-a", "tok-b"]))
    assert kinds(outcomes) == [OutcomeKind.INVALID_TOKEN] * 2
    assert "80300007" in outcomes[0].reason


async def test_same_token_twice_in_a_batch_is_sent_once_and_answered_twice(
    hms_sim: HmsSimulator, provider: HmsProvider
) -> None:
    outcomes = await provider.send(to_tokens(["tok-a", "tok-a"]))
    assert kinds(outcomes) == [OutcomeKind.SENT] * 2
    assert len(hms_sim.received["tok-a"]) == 1


async def test_oversize_message_is_rejected_and_never_sent(
    hms_sim: HmsSimulator, provider: HmsProvider
) -> None:
    big = Message(title="big", data={"blob": "x" * 4096})
    outcomes = await provider.send(to_tokens(["tok-a"], big) + to_tokens(["tok-b"]))
    assert kinds(outcomes) == [OutcomeKind.REJECTED, OutcomeKind.SENT]
    assert "4096" in outcomes[0].reason
    assert list(hms_sim.received) == ["tok-b"]


async def test_expired_oauth_token_is_refreshed_once_and_the_request_retried(
    hms_sim: HmsSimulator, provider: HmsProvider
) -> None:
    await provider.send(to_tokens(["tok-a"]))
    hms_sim.expire_tokens()
    outcomes = await provider.send(to_tokens(["tok-b"]))
    assert kinds(outcomes) == [OutcomeKind.SENT]
    assert len(hms_sim.issuer.tokens) == 2
    assert sorted(hms_sim.received) == ["tok-a", "tok-b"]


async def test_oauth_token_is_reused_until_close_to_its_expiry(
    hms_sim: HmsSimulator, provider: HmsProvider, clock: Clock
) -> None:
    await provider.send(to_tokens(["tok-a"]))
    clock.advance(3000)
    await provider.send(to_tokens(["tok-b"], now=clock.now))
    assert len(hms_sim.issuer.tokens) == 1
    clock.advance(300)  # less than the margin (a tenth of 3600 s) is left: refreshed
    assert kinds(await provider.send(to_tokens(["tok-c"], now=clock.now))) == [OutcomeKind.SENT]
    assert len(hms_sim.issuer.tokens) == 2


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (503, "81000001", OutcomeKind.RETRY),
        (502, "81000001", OutcomeKind.RETRY),
        (500, "81000001", OutcomeKind.RETRY),
        (400, "80300008", OutcomeKind.REJECTED),
        (400, "80300007", OutcomeKind.INVALID_TOKEN),
        (401, "80200001", OutcomeKind.AUTH_FAILED),
        (403, "80300002", OutcomeKind.AUTH_FAILED),
        (400, "80100003", OutcomeKind.REJECTED),
        (400, "80100016", OutcomeKind.REJECTED),
    ],
)
async def test_each_result_code_maps_to_its_outcome(
    hms_sim: HmsSimulator, provider: HmsProvider, status: int, code: str, kind: OutcomeKind
) -> None:
    hms_sim.inject(Fault(status=status, reason=code))
    outcomes = await provider.send(to_tokens(["tok-a", "tok-b"]))
    assert [(o.kind, o.status) for o in outcomes] == [(kind, status)] * 2
    if kind is OutcomeKind.RETRY:
        # §5.3: 503 is flow control; 500 and 502 wait the default.
        pace = RetryClass.HMS_FLOW_CONTROL if status == 503 else RetryClass.DEFAULT
        assert {o.retry_class for o in outcomes} == {pace}
    assert hms_sim.received == {}


async def test_flow_control_retry_after_is_honoured(
    hms_sim: HmsSimulator, provider: HmsProvider
) -> None:
    hms_sim.inject(Fault(status=503, retry_after=45))
    [outcome] = await provider.send(to_tokens(["tok-a"]))
    assert (outcome.kind, outcome.retry_after) == (OutcomeKind.RETRY, 45.0)


async def test_wrong_client_secret_is_auth_failed_for_the_batch(
    hms_sim: HmsSimulator, clock: Clock
) -> None:
    provider = make_provider(hms_sim, clock, secret="wrong")
    try:
        outcomes = await provider.send(to_tokens(["tok-a", "tok-b"]))
    finally:
        await provider.close()
    assert kinds(outcomes) == [OutcomeKind.AUTH_FAILED] * 2
    assert hms_sim.received == {}


async def test_connection_reset_fails_only_the_request_it_hit(
    hms_sim: HmsSimulator, clock: Clock
) -> None:
    provider = make_provider(hms_sim, clock, concurrency=1)
    hms_sim.inject(Fault(action="reset"))
    try:
        first = to_tokens(["tok-a", "tok-b"])
        second = to_tokens(["tok-c"], Message(title="Another message"))
        outcomes = await provider.send(first + second)
    finally:
        await provider.close()
    assert kinds(outcomes) == [OutcomeKind.RETRY, OutcomeKind.RETRY, OutcomeKind.SENT]
    assert list(hms_sim.received) == ["tok-c"]
