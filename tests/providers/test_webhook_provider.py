"""The webhook client against the webhook receiver simulator over real sockets
(docs/providers.md §6); signatures verified by the ``standardwebhooks`` library."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from pushgate.core.messages import Message
from pushgate.core.models import Provider
from pushgate.core.outcomes import OutcomeKind, RetryClass
from pushgate.providers.base import Delivery
from pushgate.providers.webhook import WebhookProvider
from pushgate.simulators.base import Fault, SimRequest, SimResponse
from pushgate.simulators.server import start
from pushgate.simulators.webhook import WebhookSimulator
from tests.providers.http_material import (
    Clock,
    credentials,
    delivery,
    kinds,
    loopback_options,
    make_clock,
)

AUTHORIZATION = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwdXNoZ2F0ZSJ9.c2lnbmF0dXJl"
USER_AGENT = "pushgate-tests/1.0"
PATH = "/hooks/crm"


class RecordingWebhookSimulator(WebhookSimulator):
    """The receiver, also keeping each raw request so an outside library can verify it."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[SimRequest] = []

    async def handle_provider(self, request: SimRequest) -> SimResponse:
        self.raw.append(request)
        return await super().handle_provider(request)


@pytest.fixture
async def webhook_sim() -> AsyncIterator[RecordingWebhookSimulator]:
    simulator = RecordingWebhookSimulator()
    running = await start(simulator)
    yield simulator
    await running.close()


@pytest.fixture
def secret(webhook_sim: WebhookSimulator) -> str:
    value = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    webhook_sim.register_credentials(
        {"secret": value, "authorization": AUTHORIZATION, "user_agent": USER_AGENT}
    )
    return value


@pytest.fixture
def clock() -> Clock:
    return make_clock()


def make_provider(
    webhook_sim: WebhookSimulator,
    clock: Clock,
    *,
    secret: str | None = None,
    public: dict[str, Any] | None = None,
    **options: Any,
) -> WebhookProvider:
    secrets = {"authorization": AUTHORIZATION}
    if secret is not None:
        secrets["signing_secret"] = secret
    values = {"url": f"{webhook_sim.base_url}{PATH}", "user_agent": USER_AGENT, **(public or {})}
    return WebhookProvider(
        credentials("webhook", values, secrets), loopback_options(clock, **options)
    )


@pytest.fixture
async def provider(
    webhook_sim: WebhookSimulator, secret: str, clock: Clock
) -> AsyncIterator[WebhookProvider]:
    made = make_provider(webhook_sim, clock, secret=secret)
    yield made
    await made.close()


DEVICE_TOKEN = "device-42"


def to_hook(device_token: str = DEVICE_TOKEN, message: Message | None = None) -> Delivery:
    return delivery(Provider.WEBHOOK, device_token, message)


async def test_signed_delivery_is_verified_by_the_standardwebhooks_library(
    webhook_sim: RecordingWebhookSimulator, provider: WebhookProvider, secret: str
) -> None:
    message = Message(title="Booked", body="10:00", data={"id": 7}, category="appointment.booked")
    item = to_hook(message=message)
    [outcome] = await provider.send([item])
    assert (outcome.kind, outcome.provider_message_id) == (OutcomeKind.SENT, item.delivery_id)
    [raw] = webhook_sim.raw
    headers = dict(raw.headers)
    verified = Webhook(secret).verify(raw.body, headers)
    assert verified["type"] == "appointment.booked"
    assert verified["data"]["id"] == item.delivery_id
    assert verified["data"]["data"] == {"id": 7}
    assert verified["data"]["device_token"] == "device-42"
    assert headers["webhook-id"] == item.delivery_id
    assert headers["content-type"] == "application/json"
    assert headers["authorization"] == AUTHORIZATION
    assert headers["user-agent"] == USER_AGENT
    assert webhook_sim.received[PATH][0].message_id == item.delivery_id


async def test_a_retry_repeats_the_body_and_only_the_timestamp_header_moves(
    webhook_sim: RecordingWebhookSimulator, provider: WebhookProvider, clock: Clock, secret: str
) -> None:
    item = to_hook()
    webhook_sim.inject(Fault(status=503, token=PATH))
    [first] = await provider.send([item])
    assert first.kind is OutcomeKind.RETRY
    clock.advance(30)
    [second] = await provider.send([item])
    assert second.kind is OutcomeKind.SENT
    ids = [request.header("webhook-id") for request in webhook_sim.raw]
    stamps = [int(request.header("webhook-timestamp") or 0) for request in webhook_sim.raw]
    assert ids == [item.delivery_id, item.delivery_id]
    assert stamps[1] - stamps[0] == 30
    # §6.1: the event is the same, so is its body, byte for byte; its timestamp is when the
    # notification was accepted.
    assert webhook_sim.raw[0].body == webhook_sim.raw[1].body
    sent_at = orjson.loads(webhook_sim.raw[0].body)["timestamp"]
    assert round(datetime.fromisoformat(sent_at).timestamp() * 1000) == item.created_at
    assert webhook_sim.raw[0].headers != webhook_sim.raw[1].headers
    Webhook(secret).verify(webhook_sim.raw[1].body, dict(webhook_sim.raw[1].headers))


async def test_unsigned_when_no_secret_is_set(
    webhook_sim: RecordingWebhookSimulator, clock: Clock
) -> None:
    provider = make_provider(webhook_sim, clock)
    try:
        [outcome] = await provider.send([to_hook()])
    finally:
        await provider.close()
    assert outcome.kind is OutcomeKind.SENT
    assert webhook_sim.raw[0].header("webhook-signature") is None


async def test_device_token_url_is_the_target(
    webhook_sim: RecordingWebhookSimulator, provider: WebhookProvider
) -> None:
    [outcome] = await provider.send([to_hook(f"{webhook_sim.base_url}/hooks/device-7")])
    assert outcome.kind is OutcomeKind.SENT
    assert list(webhook_sim.received) == ["/hooks/device-7"]
    assert "device_token" not in orjson.loads(webhook_sim.raw[0].body)["data"]


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (301, OutcomeKind.REJECTED),
        (302, OutcomeKind.REJECTED),
        (307, OutcomeKind.REJECTED),
        (400, OutcomeKind.REJECTED),
        (401, OutcomeKind.AUTH_FAILED),
        (404, OutcomeKind.REJECTED),
        (410, OutcomeKind.INVALID_TOKEN),
        (429, OutcomeKind.RETRY),
        (500, OutcomeKind.RETRY),
        (502, OutcomeKind.RETRY),
        (503, OutcomeKind.RETRY),
        (504, OutcomeKind.RETRY),
    ],
)
async def test_plain_mode_maps_each_status(
    webhook_sim: RecordingWebhookSimulator,
    provider: WebhookProvider,
    status: int,
    kind: OutcomeKind,
) -> None:
    webhook_sim.inject(Fault(status=status, token=PATH))
    [outcome] = await provider.send([to_hook()])
    assert (outcome.kind, outcome.status) == (kind, status)
    if kind is OutcomeKind.RETRY:
        # §6.3-6.4: a receiver's throttle and errors wait the default row, which starts
        # near Svix's 5 s, a Retry-After followed as given.
        assert outcome.retry_class is RetryClass.DEFAULT
    # Redirects are answers, never followed: exactly one request reached the receiver.
    assert len(webhook_sim.raw) == 1


async def test_any_2xx_is_sent_in_plain_mode(
    webhook_sim: RecordingWebhookSimulator, provider: WebhookProvider
) -> None:
    webhook_sim.configure_reply(status=204)
    [outcome] = await provider.send([to_hook()])
    assert (outcome.kind, outcome.status) == (OutcomeKind.SENT, 204)


async def test_disabled_endpoint_410_is_invalid_token(
    webhook_sim: RecordingWebhookSimulator, provider: WebhookProvider
) -> None:
    webhook_sim.mark_dead(PATH)
    [outcome] = await provider.send([to_hook()])
    assert (outcome.kind, outcome.status) == (OutcomeKind.INVALID_TOKEN, 410)


async def test_retry_after_is_honoured(
    webhook_sim: RecordingWebhookSimulator, provider: WebhookProvider
) -> None:
    webhook_sim.inject(Fault(status=503, retry_after=17, token=PATH))
    [outcome] = await provider.send([to_hook()])
    assert (outcome.kind, outcome.retry_after) == (OutcomeKind.RETRY, 17.0)


async def test_abort_message_header_stops_retries(
    webhook_sim: RecordingWebhookSimulator, provider: WebhookProvider
) -> None:
    webhook_sim.inject(Fault(status=500, reason="abort-message", token=PATH))
    [outcome] = await provider.send([to_hook()])
    assert outcome.kind is OutcomeKind.REJECTED
    assert "aborted" in outcome.reason


@pytest.mark.parametrize(
    ("reply", "kind", "kept"),
    [
        ({"success": True, "code": "0", "message": "OK"}, OutcomeKind.SENT, None),
        ({"success": False, "code": "17", "message": "Unknown user"}, OutcomeKind.REJECTED, "17"),
        ({"success": True, "code": "4", "message": "Queued late"}, OutcomeKind.REJECTED, "4"),
        ({"success": True, "code": "x1", "message": "?"}, OutcomeKind.REJECTED, "contract"),
    ],
)
async def test_contract_mode_reads_success_code_and_message(
    webhook_sim: RecordingWebhookSimulator,
    clock: Clock,
    secret: str,
    reply: dict[str, Any],
    kind: OutcomeKind,
    kept: str | None,
) -> None:
    webhook_sim.configure_reply(mode="contract", **reply)
    provider = make_provider(webhook_sim, clock, secret=secret, public={"answer_mode": "contract"})
    try:
        [outcome] = await provider.send([to_hook()])
    finally:
        await provider.close()
    assert outcome.kind is kind
    if kept is not None:
        assert kept in outcome.reason
        assert reply["message"] in outcome.reason or kept == "contract"


async def test_contract_mode_refuses_an_empty_2xx(
    webhook_sim: RecordingWebhookSimulator, clock: Clock, secret: str
) -> None:
    provider = make_provider(webhook_sim, clock, secret=secret, public={"answer_mode": "contract"})
    try:
        [outcome] = await provider.send([to_hook()])
    finally:
        await provider.close()
    assert outcome.kind is OutcomeKind.REJECTED
    assert "contract" in outcome.reason


async def test_slow_receiver_times_out_as_retry(
    webhook_sim: RecordingWebhookSimulator, clock: Clock, secret: str
) -> None:
    provider = make_provider(webhook_sim, clock, secret=secret, public={"timeout_seconds": 1})
    webhook_sim.inject(Fault(latency_ms=1500, status=200, token=PATH))
    try:
        [outcome] = await provider.send([to_hook()])
    finally:
        await provider.close()
    assert outcome.kind is OutcomeKind.RETRY
    assert "timeout" in outcome.reason


async def test_connection_reset_mid_batch_gives_one_outcome_each_and_no_false_sent(
    webhook_sim: RecordingWebhookSimulator, provider: WebhookProvider
) -> None:
    broken = f"{webhook_sim.base_url}/hooks/broken"
    webhook_sim.inject(Fault(action="reset", token="/hooks/broken"))
    batch = [to_hook(), to_hook(broken), to_hook()]
    outcomes = await provider.send(batch)
    assert kinds(outcomes) == [OutcomeKind.SENT, OutcomeKind.RETRY, OutcomeKind.SENT]
    received = {item.message_id for item in webhook_sim.received[PATH]}
    assert received == {batch[0].delivery_id, batch[2].delivery_id}
    assert "/hooks/broken" not in webhook_sim.received
