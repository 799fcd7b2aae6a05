"""Through the real send path to every provider's simulator: each payload carries its
delivery's identity (docs/actions.md, "Payload identity"); with actions, a response token
that verifies and names that delivery, notification and device, and the provider's own
rendering of the actions, titled in the device's locale."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pushgate.core import interaction_tokens, response_tokens
from pushgate.core.actions import ActionDefinition, RecordHandler, TextInput, content_actions
from pushgate.core.audience import stored_audience
from pushgate.core.models import DEFAULT_TENANT
from pushgate.core.notification_input import NotificationInput
from pushgate.core.notifications import DeliveryRecords, Notification, NotificationState
from pushgate.core.payload_problems import TooLarge
from pushgate.core.rendering import render_for
from pushgate.providers.limits import payload_problem
from pushgate.simulators.hms import HmsSimulator
from pushgate.simulators.identity import ReceivedIdentity, identity_of
from pushgate.simulators.tls import CertificateAuthority
from pushgate.simulators.webhook import WebhookSimulator
from pushgate.simulators.webpush import WebPushSimulator
from pushgate.simulators.wns import WnsSimulator
from pushgate.wiring import Services, build_services
from tests.conftest import empty_postgres, make_settings
from tests.delivery.conftest import work_through
from tests.delivery.test_to_simulators import _apns_app, _device, _every_other_provider, _put
from tests.providers.harness import ApnsSetup, Clock, FcmSetup, start_apns, start_fcm

INSTANCE_NAME = "https://push.example.com"
DAY = 86_400


@pytest.fixture
async def services(
    database_url: str, tmp_path: Path, sim_authority: CertificateAuthority
) -> AsyncIterator[Services]:
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    settings = make_settings(
        tmp_path,
        database_url,
        provider_ca_file=sim_authority.ca_path,
        instance_name=INSTANCE_NAME,
        response_token_grace_days=3,
    )
    built = await build_services(settings)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
async def apns(sim_authority: CertificateAuthority) -> AsyncIterator[ApnsSetup]:
    setup = await start_apns(sim_authority, Clock())
    yield setup
    await setup.server.close()


@pytest.fixture
async def fcm(sim_authority: CertificateAuthority) -> AsyncIterator[FcmSetup]:
    setup = await start_fcm(Clock(), sim_authority)
    yield setup
    await setup.server.close()


def _action(key: str, title: str, **extra: Any) -> ActionDefinition:
    return ActionDefinition(str(uuid.uuid4()), "app", key, title, handler=RecordHandler(), **extra)


APPROVE = _action("approve", "Approve", titles={"de": "Genehmigen"}, foreground=True)
REJECT = _action(
    "reject",
    "Reject",
    titles={"de": "Ablehnen"},
    destructive=True,
    text_input=TextInput("Why?", "Send"),
)


async def _send(services: Services, content: dict[str, Any]) -> Notification:
    """Store a notification with ``content`` and its fan-out, as accepting one does (the
    API that names action sets is built elsewhere)."""
    tenant = await services.access.ensure_default_tenant()
    assert tenant.name == DEFAULT_TENANT
    app = await services.accounts.app_by_name(tenant.id, "live")
    assert app is not None
    audience = NotificationInput.model_validate(
        {"app": "live", "audience": {"everyone": True}, "title": "x"}
    ).audience
    now = services.clock.now_ms()
    notification = Notification(
        id=str(uuid.uuid4()),
        tenant_id=tenant.id,
        app_id=app.id,
        idempotency_key=None,
        audience=stored_audience(audience),
        content={"ttl": 3600, "priority": "high", **content},
        state=NotificationState.SENDING,
        targeted=await services.notifications.count_audience(audience, tenant.id, app.id),
        fanout_done=False,
        send_at=None,
        expires_at=now + 3_600_000,
        created_at=now,
        updated_at=now,
        records=DeliveryRecords.ALL,
        request_hash=None,
    )
    starter = services.sending.start_fanout
    await services.notifications.insert_notification(
        notification, starter.within(notification.id, now)
    )
    await starter.committed(notification.id, now)
    await work_through(services)
    return notification


async def _all_providers(
    client: httpx.AsyncClient,
    apns: ApnsSetup,
    fcm: FcmSetup,
    webpush: WebPushSimulator,
    wns: WnsSimulator,
    hms: HmsSimulator,
    webhook: WebhookSimulator,
) -> dict[str, str]:
    """The app ``live`` with a device at every provider's simulator, and a German FCM
    device: where each simulator files what it receives, by provider (``fcm-de``)."""
    keys = {"apns": await _apns_app(client, apns)}
    keys.update(await _every_other_provider(client, fcm, webpush, wns, hms))
    await _put(client, "webhook", {"url": f"{webhook.base_url}/hook"})
    await _device(client, {"provider": "webhook", "token": f"{webhook.base_url}/hook/1"})
    keys["webhook"] = "/hook/1"
    keys["fcm-de"] = f"de:{secrets.token_urlsafe(24)}"
    await _device(client, {"provider": "fcm", "token": keys["fcm-de"], "locale": "de"})
    return keys


def _received(
    apns: ApnsSetup,
    fcm: FcmSetup,
    webpush: WebPushSimulator,
    wns: WnsSimulator,
    hms: HmsSimulator,
    webhook: WebhookSimulator,
    keys: dict[str, str],
) -> dict[str, Any]:
    """The one push each device received, by provider, as its simulator recorded it."""
    sims: dict[str, Any] = {
        "apns": apns.simulator,
        "fcm": fcm.simulator,
        "fcm-de": fcm.simulator,
        "webpush": webpush,
        "wns": wns,
        "hms": hms,
        "webhook": webhook,
    }
    bodies = {}
    for name, sim in sims.items():
        [item] = sim.received[keys[name]]
        bodies[name] = item.body
    return bodies


async def _devices_and_deliveries(
    client: httpx.AsyncClient, notification_id: str
) -> dict[str, str]:
    """Delivery id → device id of the notification."""
    answer = await client.get(f"/v1/notifications/{notification_id}/deliveries")
    assert answer.status_code == 200, answer.text
    return {row["id"]: row["device_id"] for row in answer.json()["items"]}


async def _instance_id(client: httpx.AsyncClient) -> str:
    answer = await client.get("/v1/instance")
    assert answer.json()["instance_name"] == INSTANCE_NAME
    found: str = answer.json()["instance_id"]
    return found


async def test_with_actions_every_payload_carries_identity_token_and_actions(
    client: httpx.AsyncClient,
    services: Services,
    apns: ApnsSetup,
    fcm: FcmSetup,
    webpush_sim: WebPushSimulator,
    wns_sim: WnsSimulator,
    hms_sim: HmsSimulator,
    webhook_sim: WebhookSimulator,
) -> None:
    sims = (apns, fcm, webpush_sim, wns_sim, hms_sim, webhook_sim)
    keys = await _all_providers(client, *sims)
    content = {
        "title": "Order 7",
        "body": "Approve the order?",
        "action_set": "approval",
        "actions": content_actions([APPROVE, REJECT]),
    }
    notification = await _send(services, content)
    bodies = _received(*sims, keys)
    deliveries = await _devices_and_deliveries(client, notification.id)
    instance_id = await _instance_id(client)
    seen_deliveries = set()
    for name, body in bodies.items():
        identity = identity_of(name.split("-")[0], body)
        assert identity is not None, (name, body)
        fields = identity.fields
        assert fields["instance"] == instance_id
        assert fields["server"] == INSTANCE_NAME
        assert fields["app"] == "live"
        assert fields["notification"] == notification.id
        assert fields["set"] == "approval"
        assert fields["url"] == f"{INSTANCE_NAME}/v1/push/live/action/"
        assert identity.answer_url(APPROVE.id) == f"{fields['url']}{APPROVE.id}"
        claims = response_tokens.read(
            services.box, fields["token"], notification.created_at // 1000
        )
        assert isinstance(claims, response_tokens.ResponseToken), (name, claims)
        assert claims.delivery_id == fields["delivery"]
        assert claims.notification_id == notification.id
        assert claims.device_id == deliveries[fields["delivery"]]
        assert claims.expires_at == notification.expires_at // 1000 + 3 * DAY
        _check_interaction_token(services, notification, fields, deliveries)
        seen_deliveries.add(fields["delivery"])
        _check_actions(name, body, identity)
    assert seen_deliveries == set(deliveries)  # each push names its own delivery


def _check_actions(name: str, body: Any, identity: ReceivedIdentity) -> None:
    """Each provider's own rendering of the two actions, titled for the device's locale."""
    german = name == "fcm-de"
    approve, reject = ("Genehmigen", "Ablehnen") if german else ("Approve", "Reject")
    if name == "wns":
        # The toast schema's buttons; arguments name the action and how to answer.
        by_key = {a["arguments"].split(";")[0]: a for a in identity.actions}
        assert by_key["action=approve"]["content"] == approve
        assert by_key["action=approve"]["activationType"] == "foreground"
        assert f"id={REJECT.id}" in by_key["action=reject"]["arguments"]
        assert f"token={identity.token}" in by_key["action=reject"]["arguments"]
        assert by_key["action=reject"]["hint-inputId"] == "reject"
        assert by_key["action=reject"]["hint-buttonStyle"] == "Critical"
        return
    assert identity.actions == [
        {"action": "approve", "title": approve, "id": APPROVE.id, "options": ["foreground"]},
        {
            "action": "reject",
            "title": reject,
            "id": REJECT.id,
            "options": ["destructive"],
            "input": {"placeholder": "Why?", "button": "Send"},
        },
    ], name
    if name == "apns":
        assert body["aps"]["category"] == "approval"  # the set's key names the category
    if name.startswith("fcm"):
        assert body["apns"]["payload"]["aps"]["category"] == "approval"


def _check_interaction_token(
    services: Services,
    notification: Notification,
    fields: dict[str, str],
    deliveries: dict[str, str],
) -> None:
    """The interaction token is good for its own delivery and notification, names the
    device, and reports for the retention window from the notification's creation."""
    token = fields["itoken"]
    assert len(token) == interaction_tokens.TOKEN_CHARS
    now = notification.created_at // 1000
    claims = interaction_tokens.read(
        services.box, token, fields["delivery"], fields["notification"], now
    )
    assert isinstance(claims, interaction_tokens.InteractionClaims), claims
    assert claims.device_id == deliveries[fields["delivery"]]
    assert claims.expires_at == now + services.settings.retention_days * DAY
    other = next(d for d in deliveries if d != fields["delivery"])
    refused = interaction_tokens.read(services.box, token, other, fields["notification"], now)
    assert refused == interaction_tokens.InteractionRefused("forged")


async def test_without_actions_every_payload_carries_an_interaction_token_and_no_response_token(
    client: httpx.AsyncClient,
    services: Services,
    apns: ApnsSetup,
    fcm: FcmSetup,
    webpush_sim: WebPushSimulator,
    wns_sim: WnsSimulator,
    hms_sim: HmsSimulator,
    webhook_sim: WebhookSimulator,
) -> None:
    sims = (apns, fcm, webpush_sim, wns_sim, hms_sim, webhook_sim)
    keys = await _all_providers(client, *sims)
    notification = await _send(services, {"title": "Doors open", "category": "news"})
    bodies = _received(*sims, keys)
    deliveries = await _devices_and_deliveries(client, notification.id)
    instance_id = await _instance_id(client)
    for name, body in bodies.items():
        identity = identity_of(name.split("-")[0], body)
        assert identity is not None, (name, body)
        assert identity.fields == {
            "instance": instance_id,
            "server": INSTANCE_NAME,
            "app": "live",
            "notification": notification.id,
            "delivery": identity.fields["delivery"],
            "itoken": identity.fields["itoken"],
        }
        assert identity.fields["delivery"] in deliveries
        _check_interaction_token(services, notification, identity.fields, deliveries)
        assert identity.actions == []
    assert bodies["apns"]["aps"]["category"] == "news"


async def test_the_largest_action_payload_accepted_is_sent(
    client: httpx.AsyncClient, services: Services, apns: ApnsSetup
) -> None:
    """The longest body APNs takes beside two actions at accept time (identity counted at
    its largest) goes out with the real identity: refused at accept, never at send."""
    token = await _apns_app(client, apns)
    base = {"title": "Order 7", "action_set": "approval"}
    base["actions"] = content_actions([APPROVE, REJECT])  # type: ignore[assignment]
    low, high = 0, 5000
    while low < high:
        middle = (low + high + 1) // 2
        message = render_for({**base, "body": "b" * middle})
        if payload_problem("apns", message) is None:
            low = middle
        else:
            high = middle - 1
    over = payload_problem("apns", render_for({**base, "body": "b" * (low + 1)}))
    assert isinstance(over, TooLarge)
    await _send(services, {**base, "body": "b" * low})
    [received] = apns.simulator.received[token]
    assert received.body["aps"]["alert"]["body"] == "b" * low
    assert received.body["pushgate"]["token"]
