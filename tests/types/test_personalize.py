"""Per-delivery rendering (delivery/personalize.py): the message built once per language
with only the recipient's fields rendered per delivery is the message the whole template
renders for that recipient; a recipient a part fails for fails alone; a recipient part
outside the text fields renders the whole template per delivery."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from pushgate.core.messages import Message
from pushgate.core.notifications import DeviceAddress, DueDelivery, Notification
from pushgate.core.outcomes import Outcome, OutcomeKind
from pushgate.core.rendering import render_for
from pushgate.core.templates import compile_template, merge, render
from pushgate.core.typed_sends import TEMPLATE_KEY
from pushgate.delivery.personalize import Personalizer

# (device id, device locale, user locale, the user's attributes; None: no user)
PEOPLE: list[tuple[str, str | None, str | None, dict[str, Any] | None]] = [
    ("d1", "de-DE", None, {"name": "Anna"}),
    ("d2", None, "de", {"name": "Bernd"}),
    ("d3", "fr", "en", {"name": "Chloé"}),
    ("d4", None, None, {"name": "Dan"}),
    ("d5", "en", None, {}),  # no name: fails alone
    ("d6", None, None, None),  # no user at all: fails alone
]


class Recipients:
    """The storage edge: what the send batch's query would read of each device."""

    async def recipients(self, device_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found = {}
        for device_id, locale, user_locale, attributes in PEOPLE:
            user = None
            if attributes is not None:
                user = {"external_id": device_id, "locale": user_locale, "attributes": attributes}
            found[device_id] = {"user": user, "device": {"locale": locale, "provider": "apns"}}
        return {key: value for key, value in found.items() if key in device_ids}

    async def users(self, user_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The users alone, by id (``user-<device id>``), as the users table answers."""
        wanted = set(user_ids)
        found = await self.recipients([d for d, *_ in PEOPLE])
        return {
            _user_id(d): value["user"]
            for d, value in found.items()
            if _user_id(d) in wanted and value["user"] is not None
        }


def _user_id(device_id: str) -> str:
    return f"user-{device_id}"


def _notification(source: dict[str, Any], request: dict[str, Any]) -> Notification:
    content = {**request, TEMPLATE_KEY: {"type": "t1", "version": 1, "source": source}}
    fields: dict[str, Any] = dict.fromkeys(Notification.__dataclass_fields__)
    fields.update(id="n1", tenant_id="t", app_id="a", content=content)
    return Notification(**fields)


def _due() -> list[DueDelivery]:
    return [
        DueDelivery(
            f"x-{d}",
            "apns",
            0,
            DeviceAddress(d, "tok", None, locale, None if person is None else _user_id(d)),
            user_locale,
        )
        for d, locale, user_locale, person in PEOPLE
    ]


async def _whole_template(
    source: dict[str, Any], request: dict[str, Any]
) -> dict[str, Message | str]:
    """What rendering the whole template per delivery makes (a failure: its field)."""
    template = compile_template(source)
    found = await Recipients().recipients([d for d, *_ in PEOPLE])
    out: dict[str, Message | str] = {}
    for item in _due():
        locales = (item.device.locale, item.user_locale)
        context = {"data": request.get("data") or {}, **found[item.device.id]}
        try:
            out[item.id] = render_for(merge(render(template, context, locales), request), *locales)
        except Exception as exc:
            out[item.id] = type(exc).__name__
    return out


def _kind(made: Message | Outcome) -> Message | str:
    if isinstance(made, Message):
        return made
    assert made.kind is OutcomeKind.REJECTED
    assert made.reason.startswith("template_error: template."), made.reason
    return "TemplateFailure"


SOURCES = [
    # The title reads the recipient, the body only data: the common case.
    {"title": "Hi {{ user.attributes.name }}", "body": "{{ data.what }}"},
    # Locale variants, some reading the recipient, with data in the payload.
    {
        "title": "Hi {{ user.attributes.name }}",
        "subtitle": "{{ data.what }}",
        "body": "For {{ user.external_id }}",
        "data": {"k": "{{ data.what }}"},
        "locales": {
            "de": {"title": "Hallo {{ user.attributes.name }}", "body": "Neu: {{ data.what }}"},
            "fr": {"body": "{{ user.attributes.name }}, {{ data.what }}"},
        },
    },
    # The device read too (one read of devices and users).
    {"title": "Hi {{ user.attributes.name }} on {{ device.provider }}", "body": "{{ data.what }}"},
    # A recipient field in data: the whole template renders per delivery.
    {"title": "{{ data.what }}", "data": {"who": "{{ user.attributes.name }}"}},
]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize(
    "request_content", [{"data": {"what": "Tea"}}, {"data": {"what": "Tea"}, "subtitle": "S"}]
)
async def test_each_delivery_gets_what_the_whole_template_makes(
    source: dict[str, Any], request_content: dict[str, Any]
) -> None:
    personalizer = Personalizer(Recipients())
    made = await personalizer.messages(_notification(source, request_content), _due())
    assert made is not None
    got = {key: _kind(value) for key, value in made.items()}
    assert got == await _whole_template(source, request_content)
    # The people with a name got their messages; the others failed alone.
    assert [got[f"x-{d}"] == "TemplateFailure" for d, *_ in PEOPLE] == [
        False,
        False,
        False,
        False,
        True,
        True,
    ]


async def test_a_personal_text_is_held_to_its_fields_limit() -> None:
    source = {"title": "{{ user.attributes.name * 60 }}", "body": "{{ data.what }}"}
    made = await Personalizer(Recipients()).messages(
        _notification(source, {"data": {"what": "Tea"}}), _due()
    )
    assert made is not None
    failed = made["x-d2"]
    assert isinstance(failed, Outcome)
    assert "template.title: renders 300 characters, more than 256" in failed.reason
    assert isinstance(made["x-d4"], Message)  # "Dan" * 60 fits


async def test_a_recipient_part_the_request_replaces_is_not_rendered() -> None:
    """The request's own title wins, so the template's is not needed: a recipient without
    the attribute it reads still gets the message."""
    source = {"title": "Hi {{ user.attributes.name }}", "body": "{{ data.what }}"}
    request = {"data": {"what": "Tea"}, "title": "Given"}
    made = await Personalizer(Recipients()).messages(_notification(source, request), _due())
    assert made is not None
    nameless = made["x-d5"]
    assert isinstance(nameless, Message)
    assert (nameless.title, nameless.body) == ("Given", "Tea")
