"""Each provider's rendering of the identity and the actions (docs/actions.md, "Payload
identity"), and the accept-time size checks that count the identity at its largest."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import orjson
import pytest

from pushgate.core import interaction_tokens
from pushgate.core.actions import ActionDefinition, RecordHandler, TextInput, content_actions
from pushgate.core.identity import PayloadIdentity, largest_identity
from pushgate.core.messages import Message
from pushgate.core.payload_problems import FieldRefused, TooLarge
from pushgate.core.rendering import render_for
from pushgate.core.response_tokens import TOKEN_CHARS
from pushgate.providers import hms_payload, wns_payload
from pushgate.providers.apns_payload import render_push
from pushgate.providers.fcm_payload import render_template, request_body
from pushgate.providers.limits import payload_problem
from pushgate.providers.webpush import plaintext
from pushgate.simulators.identity import identity_of

ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
IDENTITY = PayloadIdentity(
    ID,
    "https://push.example.com",
    "shop",
    ID,
    ID,
    "I" * interaction_tokens.TOKEN_CHARS,
    "approval",
    "T" * TOKEN_CHARS,
    "https://push.example.com/v1/push/shop/action/",
)
APPROVE = ActionDefinition(
    "a0000000-0000-4000-8000-000000000001",
    "app",
    "approve",
    "Approve",
    {"de": "Genehmigen", "de-AT": "Passt"},
    RecordHandler(),
    authentication_required=True,
)
REPLY = ActionDefinition(
    "a0000000-0000-4000-8000-000000000002", "app", "reply", "Reply", {}, RecordHandler(),
    foreground=True, text_input=TextInput(placeholder="Say something"),
)  # fmt: skip
CONTENT: dict[str, Any] = {
    "title": "Order 7",
    "action_set": "approval",
    "actions": content_actions([APPROVE, REPLY]),
}
COMPACT = [
    {"action": "approve", "title": "Approve", "id": APPROVE.id, "options": ["auth"]},
    {
        "action": "reply",
        "title": "Reply",
        "id": REPLY.id,
        "options": ["foreground"],
        "input": {"placeholder": "Say something"},
    },
]


def test_action_titles_follow_the_locale_choice_of_the_text() -> None:
    assert [a.title for a in render_for(CONTENT, "de-AT").actions] == ["Passt", "Reply"]
    assert [a.title for a in render_for(CONTENT, "de_CH").actions] == ["Genehmigen", "Reply"]
    assert [a.title for a in render_for(CONTENT, None, "de").actions] == ["Genehmigen", "Reply"]
    assert [a.title for a in render_for(CONTENT, "fr").actions] == ["Approve", "Reply"]
    message = render_for(CONTENT)
    assert message.action_set == "approval"
    assert message.actions[1].has_input
    assert message.actions[1].input_button_title is None


def test_apns_custom_key_category_and_actions() -> None:
    push = render_push(render_for(CONTENT), "com.example", IDENTITY)
    body = orjson.loads(push.body)
    assert body["aps"]["category"] == "approval"
    assert body["pushgate"] == IDENTITY.fields()
    assert body["pushgate_actions"] == COMPACT


def test_fcm_data_holds_strings_and_the_template_splices_each_identity() -> None:
    template = render_template(render_for(CONTENT), 4_000_000_000_000, 1_700_000_000.0)
    body = orjson.loads(request_body(template, "tok", IDENTITY.to_json()))["message"]
    assert body["token"] == "tok"
    assert all(isinstance(value, str) for value in body["data"].values())
    assert orjson.loads(body["data"]["pushgate"]) == IDENTITY.fields()
    assert orjson.loads(body["data"]["pushgate_actions"]) == COMPACT
    bare = orjson.loads(request_body(template, "tok"))["message"]
    assert "pushgate" not in bare["data"]


def test_fcm_template_without_other_data_still_carries_the_identity() -> None:
    template = render_template(Message(title="hi"), 4_000_000_000_000, 1_700_000_000.0)
    body = orjson.loads(request_body(template, "tok", IDENTITY.to_json()))["message"]
    assert identity_of("fcm", body) is not None
    assert body["data"] == {"pushgate": IDENTITY.to_json().decode()}


def test_webpush_actions_are_notification_api_actions() -> None:
    payload = orjson.loads(plaintext(ID, render_for(CONTENT, "de"), IDENTITY))
    assert payload["pushgate"] == IDENTITY.fields()
    assert [(a["action"], a["title"]) for a in payload["actions"]] == [
        ("approve", "Genehmigen"),
        ("reply", "Reply"),
    ]
    assert payload["action_set"] == "approval"


def test_wns_toast_actions_inputs_and_arguments() -> None:
    body = wns_payload.render(render_for(CONTENT), ID, IDENTITY).body
    toast = ET.fromstring(body)  # noqa: S314 - our own output
    assert orjson.loads(toast.attrib["launch"])["pushgate"] == IDENTITY.fields()
    [text_input] = toast.iter("input")
    assert text_input.attrib == {
        "id": "reply",
        "type": "text",
        "placeHolderContent": "Say something",
    }
    approve, reply = toast.iter("action")
    assert approve.attrib["content"] == "Approve"
    assert approve.attrib["activationType"] == "background"
    assert approve.attrib["arguments"] == (
        f"action=approve;id={APPROVE.id};url=https://push.example.com/v1/push/shop/action/;"
        f"token={IDENTITY.token}"
    )
    assert reply.attrib["hint-inputId"] == "reply"
    assert reply.attrib["activationType"] == "foreground"


def test_wns_arguments_escape_their_separators() -> None:
    odd = PayloadIdentity(ID, "https://x.example/a;b=c%", "a", ID, ID, "i", None, "t", "u;=%")
    action = render_for(CONTENT).actions[0]
    assert wns_payload.action_arguments(action, odd).endswith(";url=u%3B%3D%25;token=t")


def test_wns_raw_and_hms_data_carry_the_identity() -> None:
    raw = wns_payload.render(Message(data={"sync": 1}), ID, IDENTITY)
    assert orjson.loads(raw.body)["pushgate"] == IDENTITY.fields()
    rendered = hms_payload.render(render_for(CONTENT), 60, IDENTITY)
    data = orjson.loads(rendered["data"])
    assert data["pushgate"] == IDENTITY.fields()
    assert data["pushgate_actions"] == COMPACT


@pytest.mark.parametrize("kind", ["apns", "fcm", "hms"])
def test_data_keys_of_pushgate_are_refused(kind: str) -> None:
    problem = payload_problem(kind, Message(title="x", data={"pushgate": "mine"}))
    assert isinstance(problem, FieldRefused)
    assert problem.field == "data.pushgate"


def _largest_that_fits(kind: str, content: dict[str, Any]) -> int:
    """The longest body (in characters) ``kind`` takes beside ``content``, found by
    bisection over what accept-time checks answer."""
    low, high = 0, 6000
    while low < high:
        middle = (low + high + 1) // 2
        message = render_for({**content, "body": "b" * middle})
        if payload_problem(kind, message) is None:
            low = middle
        else:
            high = middle - 1
    return low


@pytest.mark.parametrize("kind", ["apns", "fcm", "webpush", "wns", "hms"])
def test_accept_time_checks_count_the_largest_identity(kind: str) -> None:
    """An action set that pushes a payload over the limit is refused, naming the size; the
    largest legal one fits with any real identity, which is never larger."""
    fits = _largest_that_fits(kind, CONTENT)
    over = payload_problem(kind, render_for({**CONTENT, "body": "b" * (fits + 1)}))
    assert isinstance(over, TooLarge)
    # Without actions, the same payload has room for more: the token, URL and actions.
    assert _largest_that_fits(kind, {"title": "Order 7"}) > fits
    largest = largest_identity(True, "approval")
    assert len(largest.to_json()) >= len(IDENTITY.to_json())
    if kind == "apns":
        push = render_push(render_for({**CONTENT, "body": "b" * fits}), "com.example")
        assert len(push.body) + len(b',"pushgate":' + largest.to_json()) <= push.limit
