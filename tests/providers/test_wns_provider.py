"""The WNS client against the WNS simulator over real sockets (docs/providers.md §4)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import orjson
import pytest

from pushgate.core.messages import Action, Message
from pushgate.core.models import Provider
from pushgate.core.outcomes import OutcomeKind, RetryClass
from pushgate.providers.base import Delivery
from pushgate.providers.wns import WnsProvider
from pushgate.simulators.base import Fault
from pushgate.simulators.server import start
from pushgate.simulators.wns import WnsSimulator
from tests.providers.http_material import (
    Clock,
    credentials,
    delivery,
    kinds,
    loopback_options,
    make_clock,
)

PACKAGE_SID = "ms-app://s-1-15-2-2972962901-2322836549-3722629029-1345238579-3987825745"
SECRET = "Vex8L9WOFZuj95euaLrvSH7XyoDhLJc7"


@pytest.fixture
async def wns_sim() -> AsyncIterator[WnsSimulator]:
    simulator = WnsSimulator()
    running = await start(simulator)
    simulator.register_credentials({"client_id": PACKAGE_SID, "client_secret": SECRET})
    yield simulator
    await running.close()


@pytest.fixture
def clock() -> Clock:
    return make_clock()


def make_provider(wns_sim: WnsSimulator, clock: Clock, secret: str = SECRET) -> WnsProvider:
    given = credentials(
        "wns",
        {"package_sid": PACKAGE_SID, "token_url": f"{wns_sim.base_url}/accesstoken.srf"},
        {"client_secret": secret},
    )
    return WnsProvider(given, loopback_options(clock))


@pytest.fixture
async def provider(wns_sim: WnsSimulator, clock: Clock) -> AsyncIterator[WnsProvider]:
    made = make_provider(wns_sim, clock)
    yield made
    await made.close()


def to_channel(uri: str, message: Message | None = None, **extra: object) -> Delivery:
    return delivery(Provider.WNS, uri, message, **extra)  # type: ignore[arg-type]


def channel_id(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]


async def test_toast_is_escaped_xml_with_type_ttl_and_token(
    wns_sim: WnsSimulator, provider: WnsProvider, clock: Clock
) -> None:
    uri = wns_sim.create_channel(PACKAGE_SID)
    message = Message(
        title='Tom & "Jerry" <3',
        body="Starts at 10:00 ✓",
        data={"appointment": 7},
        actions=(Action("0a1b2c3d-0000-4000-8000-000000000001", "approve", "Approve & close"),),
    )
    item = to_channel(uri, message, ttl_seconds=900, now=clock.now - 100)
    [outcome] = await provider.send([item])
    assert outcome.kind is OutcomeKind.SENT
    [received] = wns_sim.all_received()
    assert outcome.provider_message_id == received.message_id
    assert received.headers["x-wns-type"] == "wns/toast"
    assert received.headers["content-type"] == "text/xml"
    assert 798 <= int(received.headers["x-wns-ttl"]) <= 800
    toast = ET.fromstring(received.body)  # noqa: S314 - our own output, checked for escaping
    assert [t.text for t in toast.iter("text")] == ['Tom & "Jerry" <3', "Starts at 10:00 ✓"]
    assert orjson.loads(toast.attrib["launch"]) == {
        "id": item.delivery_id,
        "data": {"appointment": 7},
    }
    [action] = toast.iter("action")
    assert action.attrib["content"] == "Approve & close"
    assert action.attrib["arguments"] == "action=approve;id=0a1b2c3d-0000-4000-8000-000000000001"


async def test_data_only_message_goes_raw(wns_sim: WnsSimulator, provider: WnsProvider) -> None:
    uri = wns_sim.create_channel(PACKAGE_SID)
    item = to_channel(uri, Message(data={"sync": True}))
    [outcome] = await provider.send([item])
    assert outcome.kind is OutcomeKind.SENT
    [received] = wns_sim.all_received()
    assert received.headers["x-wns-type"] == "wns/raw"
    assert received.headers["content-type"] == "application/octet-stream"
    assert orjson.loads(received.body) == {
        "id": item.delivery_id,
        "data": {"sync": True},
        "priority": "high",
    }


async def test_tile_override_carries_its_tag(wns_sim: WnsSimulator, provider: WnsProvider) -> None:
    uri = wns_sim.create_channel(PACKAGE_SID)
    tile = '<tile><visual><binding template="TileSmall"><text>3</text></binding></visual></tile>'
    message = Message(title="t", overrides={"wns": {"type": "tile", "payload": tile, "tag": "a1"}})
    [outcome] = await provider.send([to_channel(uri, message)])
    assert outcome.kind is OutcomeKind.SENT
    [received] = wns_sim.all_received()
    assert (received.headers["x-wns-type"], received.headers["x-wns-tag"]) == ("wns/tile", "a1")
    assert received.body == tile


async def test_access_token_is_cached_and_refreshed_before_expiry(
    wns_sim: WnsSimulator, provider: WnsProvider, clock: Clock
) -> None:
    uri = wns_sim.create_channel(PACKAGE_SID)
    for _ in range(3):
        assert kinds(await provider.send([to_channel(uri)])) == [OutcomeKind.SENT]
    assert len(wns_sim.issuer.tokens) == 1
    clock.advance(86400 - 600)  # still well inside the 86400 s lifetime
    await provider.send([to_channel(uri, now=clock.now)])
    assert len(wns_sim.issuer.tokens) == 1
    clock.advance(400)  # within the last five minutes: refreshed before it can expire
    assert kinds(await provider.send([to_channel(uri, now=clock.now)])) == [OutcomeKind.SENT]
    assert len(wns_sim.issuer.tokens) == 2


async def test_expired_token_401_refreshes_once_and_retries(
    wns_sim: WnsSimulator, provider: WnsProvider
) -> None:
    uri = wns_sim.create_channel(PACKAGE_SID)
    await provider.send([to_channel(uri)])
    wns_sim.expire_tokens()
    [outcome] = await provider.send([to_channel(uri)])
    assert outcome.kind is OutcomeKind.SENT
    assert len(wns_sim.issuer.tokens) == 2
    assert len(wns_sim.all_received()) == 2


async def test_401_after_a_fresh_token_is_auth_failed(
    wns_sim: WnsSimulator, provider: WnsProvider
) -> None:
    uri = wns_sim.create_channel(PACKAGE_SID)
    wns_sim.inject(Fault(status=401, count=2, token=channel_id(uri)))
    [outcome] = await provider.send([to_channel(uri)])
    assert (outcome.kind, outcome.status) == (OutcomeKind.AUTH_FAILED, 401)
    assert len(wns_sim.issuer.tokens) == 2
    assert wns_sim.all_received() == []


async def test_wrong_client_secret_fails_the_whole_batch_as_auth(
    wns_sim: WnsSimulator, clock: Clock
) -> None:
    uri = wns_sim.create_channel(PACKAGE_SID)
    provider = make_provider(wns_sim, clock, secret="not-the-secret")
    try:
        outcomes = await provider.send([to_channel(uri), to_channel(uri)])
    finally:
        await provider.close()
    assert kinds(outcomes) == [OutcomeKind.AUTH_FAILED] * 2
    assert "invalid_client" in outcomes[0].reason
    assert wns_sim.all_received() == []


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, OutcomeKind.REJECTED),
        (403, OutcomeKind.AUTH_FAILED),
        (404, OutcomeKind.INVALID_TOKEN),
        (405, OutcomeKind.REJECTED),
        (406, OutcomeKind.RETRY),
        (410, OutcomeKind.INVALID_TOKEN),
        (413, OutcomeKind.REJECTED),
        (500, OutcomeKind.RETRY),
        (503, OutcomeKind.RETRY),
    ],
)
async def test_each_status_maps_to_its_outcome(
    wns_sim: WnsSimulator, provider: WnsProvider, status: int, kind: OutcomeKind
) -> None:
    uri = wns_sim.create_channel(PACKAGE_SID)
    wns_sim.inject(Fault(status=status, token=channel_id(uri), reason="scripted"))
    [outcome] = await provider.send([to_channel(uri)])
    assert (outcome.kind, outcome.status) == (kind, status)
    assert "scripted" in outcome.reason


async def test_real_answers_for_expired_unknown_and_foreign_channels(
    wns_sim: WnsSimulator, provider: WnsProvider, clock: Clock
) -> None:
    expired = wns_sim.create_channel(PACKAGE_SID, expires_at=clock.now - 1)
    unknown = wns_sim.create_channel(PACKAGE_SID) + "x"
    foreign = wns_sim.create_channel("ms-app://s-1-15-2-1-2-3")
    outcomes = await provider.send([to_channel(u) for u in (expired, unknown, foreign)])
    assert [(o.kind, o.status) for o in outcomes] == [
        (OutcomeKind.INVALID_TOKEN, 410),
        (OutcomeKind.INVALID_TOKEN, 404),
        (OutcomeKind.AUTH_FAILED, 403),
    ]


async def test_throttled_sender_waits_for_continue_after(
    wns_sim: WnsSimulator, provider: WnsProvider
) -> None:
    uri = wns_sim.create_channel(PACKAGE_SID)
    wns_sim.inject(Fault(status=406, retry_after=90))
    [outcome] = await provider.send([to_channel(uri)])
    assert (outcome.kind, outcome.retry_after) == (OutcomeKind.RETRY, 90.0)
    assert outcome.retry_class is RetryClass.WNS_THROTTLED


async def test_retry_after_on_503_is_honoured(wns_sim: WnsSimulator, provider: WnsProvider) -> None:
    uri = wns_sim.create_channel(PACKAGE_SID)
    wns_sim.inject(Fault(status=503, retry_after=30))
    [outcome] = await provider.send([to_channel(uri)])
    assert (outcome.kind, outcome.retry_after) == (OutcomeKind.RETRY, 30.0)
    assert outcome.retry_class is RetryClass.DEFAULT


async def test_toast_dropped_for_an_offline_device_is_final(
    wns_sim: WnsSimulator, provider: WnsProvider
) -> None:
    uri = wns_sim.create_channel(PACKAGE_SID, connected=False)
    [outcome] = await provider.send([to_channel(uri)])
    assert (outcome.kind, outcome.status) == (OutcomeKind.REJECTED, 200)
    assert "dropped" in outcome.reason


async def test_oversize_payload_is_rejected_and_never_sent(
    wns_sim: WnsSimulator, provider: WnsProvider
) -> None:
    uri = wns_sim.create_channel(PACKAGE_SID)
    [outcome] = await provider.send([to_channel(uri, Message(title="x", body="y" * 5000))])
    assert outcome.kind is OutcomeKind.REJECTED
    assert "5000" in outcome.reason
    assert wns_sim.counters["requests"] == 1  # the token request only
    assert wns_sim.all_received() == []


async def test_connection_reset_mid_batch_gives_one_outcome_each_and_no_false_sent(
    wns_sim: WnsSimulator, provider: WnsProvider
) -> None:
    uris = [wns_sim.create_channel(PACKAGE_SID) for _ in range(4)]
    wns_sim.inject(Fault(action="reset", token=channel_id(uris[1])))
    outcomes = await provider.send([to_channel(u) for u in uris])
    assert kinds(outcomes) == [
        OutcomeKind.SENT,
        OutcomeKind.RETRY,
        OutcomeKind.SENT,
        OutcomeKind.SENT,
    ]
    assert channel_id(uris[1]) not in {item.token for item in wns_sim.all_received()}


async def test_only_notify_windows_com_unless_private_targets_are_allowed(
    wns_sim: WnsSimulator, clock: Clock
) -> None:
    given = credentials(
        "wns",
        {"package_sid": PACKAGE_SID, "token_url": f"{wns_sim.base_url}/accesstoken.srf"},
        {"client_secret": SECRET},
    )
    strict = WnsProvider(given, loopback_options(clock, allow_private_targets=False))
    try:
        assert strict.is_allowed_channel("https://wns2-par02p.notify.windows.com/w/?token=AwY")
        assert strict.is_allowed_channel("https://notify.windows.com/w/")
        assert not strict.is_allowed_channel("http://db5.notify.windows.com/w/")
        assert not strict.is_allowed_channel("https://notify.windows.com.evil.example/w/")
        assert not strict.is_allowed_channel("https://evilnotify.windows.com/w/")
        [outcome] = await strict.send([to_channel(wns_sim.create_channel(PACKAGE_SID))])
    finally:
        await strict.close()
    # The token URL on 127.0.0.1 is refused by the address guard before any channel is
    # judged: the credentials pause, and the simulator hears nothing (not even the secret).
    assert outcome.kind is OutcomeKind.AUTH_FAILED
    assert outcome.reason.startswith("target refused: 127.0.0.1 resolves to a loopback")
    assert wns_sim.all_received() == []
    assert wns_sim.issuer.tokens == {}
