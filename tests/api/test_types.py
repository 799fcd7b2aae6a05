"""Notification types over the API: define, read, page, change, delete; the rules they keep;
sends that name them (defaults, templates rendered once, 422s naming the field); the app
flag that requires them; previews (docs/types.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pushgate.core.action_notices import system_caller
from pushgate.core.notification_input import NotificationInput
from pushgate.errors import InvalidInput
from pushgate.wiring import Services
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, field_of, ok

TYPES = "/v1/apps/mobile/types"


def _type(key: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"key": key, "name": key.replace("_", " ").title()}
    body.update(changes)
    return body


async def _send(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post(
        "/v1/notifications", json={"app": "mobile", "audience": {"everyone": True}, **body}
    )


async def _stored(services: Services, answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 202, answer.text
    found = await services.notifications.notification(answer.json()["id"])
    assert found is not None
    return found.content


async def test_create_read_page_update_delete(client: httpx.AsyncClient, app_name: str) -> None:
    body = _type(
        "appointment_booked",
        description="A visit was booked",
        priority="normal",
        ttl=3600,
        collapse_key="visits",
        providers=["apns", "fcm"],
        template={
            "title": "Booked",
            "body": "At {{ data.time }}",
            "locales": {"de": {"title": "Gebucht"}},
        },
    )
    made = ok(await client.post(TYPES, json=body), 201)
    assert (made["key"], made["name"], made["enabled"], made["opt_out_allowed"]) == (
        "appointment_booked",
        "Appointment Booked",
        True,
        True,
    )
    assert (made["priority"], made["ttl"], made["collapse_key"]) == ("normal", 3600, "visits")
    assert made["providers"] == ["apns", "fcm"]
    assert made["template"]["locales"] == {"de": {"title": "Gebucht"}}
    assert made["version"] == 1
    assert ok(await client.get(f"{TYPES}/appointment_booked")) == made

    for key in ("b_type", "c_type", "d_type"):
        ok(await client.post(TYPES, json=_type(key)), 201)
    first = ok(await client.get(TYPES, params={"limit": 2}))
    assert [t["key"] for t in first["items"]] == ["appointment_booked", "b_type"]
    rest = ok(await client.get(TYPES, params={"limit": 2, "after": first["next"]}))
    assert [t["key"] for t in rest["items"]] == ["c_type", "d_type"]

    changed = ok(
        await client.patch(
            f"{TYPES}/appointment_booked",
            json={"enabled": False, "ttl": None, "opt_out_allowed": False},
        )
    )
    assert (changed["enabled"], changed["ttl"], changed["opt_out_allowed"]) == (False, None, False)
    assert changed["collapse_key"] == "visits"  # left out: kept
    assert changed["version"] == 2
    error = error_of(await client.patch(f"{TYPES}/appointment_booked", json={"key": "other"}), 422)
    assert "key" in error["message"]
    assert field_of(await client.patch(f"{TYPES}/appointment_booked", json={"enabled": None}))

    assert (await client.delete(f"{TYPES}/appointment_booked")).status_code == 204
    error = error_of(await client.get(f"{TYPES}/appointment_booked"), 404, "not_found")
    assert error["details"] == {"type": "appointment_booked"}
    error_of(await client.delete(f"{TYPES}/appointment_booked"), 404, "not_found")


async def test_keys_are_unique_per_app_and_checked(
    client: httpx.AsyncClient, app_name: str, other_tenant: str
) -> None:
    ok(await client.post(TYPES, json=_type("alert")), 201)
    error_of(await client.post(TYPES, json=_type("alert")), 409, "conflict")
    ok(await client.post(f"{TYPES}?tenant=acme", json=_type("alert")), 201)  # another app
    assert field_of(await client.post(TYPES, json=_type("Not A Key"))) == "key"
    unknown_set = await client.post(TYPES, json=_type("x", action_set="nope"))
    assert field_of(unknown_set) == "action_set"
    twice = await client.post(TYPES, json=_type("y", providers=["apns", "apns"]))
    assert field_of(twice) == "providers"


@pytest.mark.parametrize(
    ("template", "field"),
    [
        ({"body": "{{ data.time "}, "template.body"),
        ({"title": "{% if %}"}, "template.title"),
        ({"locales": {"de": {"body": "{{ data.x }"}}}, "template.locales.de.body"),
        ({"data": {"url": "{{ oops }}"}}, "template.data.url"),
    ],
)
async def test_a_template_that_does_not_compile_is_refused(
    client: httpx.AsyncClient, app_name: str, template: dict[str, Any], field: str
) -> None:
    answer = await client.post(TYPES, json=_type("bad", template=template))
    assert field_of(answer) == field
    assert error_of(answer, 422)["details"]["reason"]
    error_of(await client.get(f"{TYPES}/bad"), 404)


async def test_changes_are_audited(client: httpx.AsyncClient, app_name: str) -> None:
    made = ok(await client.post(TYPES, json=_type("alert")), 201)
    ok(await client.patch(f"{TYPES}/alert", json={"enabled": False}))
    ok(await client.delete(f"{TYPES}/alert"), 204)
    events = [
        e for e in ok(await client.get("/v1/audit"))["items"] if e["action"].startswith("type.")
    ]
    assert [e["action"] for e in reversed(events)] == ["type.create", "type.update", "type.delete"]
    assert {e["object_id"] for e in events} == {made["id"]}
    assert events[1]["details"]["changed"] == ["enabled"]
    assert all(e["details"]["key"] == "alert" for e in events)


async def test_send_scopes_read_but_do_not_change(
    client: httpx.AsyncClient, app_name: str, make_key: MakeKey
) -> None:
    ok(await client.post(TYPES, json=_type("alert")), 201)
    sender = bearer(await make_key("send"))
    assert ok(await client.get(TYPES, headers=sender))["items"][0]["key"] == "alert"
    error_of(await client.post(TYPES, json=_type("x"), headers=sender), 403)
    error_of(await client.delete(f"{TYPES}/alert", headers=sender), 403)


async def test_a_send_takes_the_types_defaults_where_it_is_silent(
    client: httpx.AsyncClient, services: Services, app_name: str
) -> None:
    action = {"key": "ok", "title": "OK", "handler": {"kind": "record"}}
    ok(await client.post(f"/v1/apps/{app_name}/actions", json=action), 201)
    ok(
        await client.post(f"/v1/apps/{app_name}/action-sets", json={"key": "s", "actions": ["ok"]}),
        201,
    )
    defaults = {"priority": "normal", "ttl": 600, "collapse_key": "visits", "action_set": "s"}
    ok(await client.post(TYPES, json=_type("booked", **defaults)), 201)
    content = await _stored(services, await _send(client, type="booked", title="t"))
    assert (content["priority"], content["ttl"], content["collapse_key"]) == (
        "normal",
        600,
        "visits",
    )
    assert content["action_set"] == "s"
    own = {"priority": "high", "ttl": 60, "collapse_key": "mine", "actions": []}
    answer = await _send(client, type="booked", title="t", category="cat", **own)
    content = await _stored(services, answer)
    assert (content["priority"], content["ttl"], content["collapse_key"]) == ("high", 60, "mine")
    assert content.get("action_set") is None  # its own category: no set of the type
    found = await services.notifications.notification(answer.json()["id"])
    assert found is not None
    assert found.type_key == "booked"


async def test_an_unknown_type_is_refused_naming_type(
    client: httpx.AsyncClient, app_name: str
) -> None:
    answer = await _send(client, type="nope", title="t")
    error = error_of(answer, 422, "validation_failed")
    assert error["details"]["field"] == "type"


async def test_an_app_can_require_a_type(client: httpx.AsyncClient, app_name: str) -> None:
    app = ok(await client.patch(f"/v1/apps/{app_name}", json={"requires_type": True}))
    assert app["requires_type"] is True
    assert field_of(await _send(client, title="ad hoc")) == "type"
    ok(await client.post(TYPES, json=_type("alert")), 201)
    assert (await _send(client, type="alert", title="typed")).status_code == 202
    ok(await client.patch(f"/v1/apps/{app_name}", json={"requires_type": False}))
    assert (await _send(client, title="ad hoc")).status_code == 202


async def test_pushgates_own_notices_are_spared_the_rule(
    client: httpx.AsyncClient, services: Services, app_name: str
) -> None:
    """The pushes that follow an answer to an action name no type (core/action_notices.py)."""
    ok(await client.patch(f"/v1/apps/{app_name}", json={"requires_type": True}))
    tenant = await services.access.ensure_default_tenant()
    data = NotificationInput.model_validate(
        {"app": app_name, "audience": {"everyone": True}, "title": "Your answer failed"}
    )
    caller = system_caller(tenant.id)
    with pytest.raises(InvalidInput) as refused:
        await services.sending.accept(caller, tenant, data)
    assert refused.value.details["field"] == "type"
    accepted = await services.sending.accept(caller, tenant, data, own=True)
    assert accepted.notification.type_key is None


async def test_a_data_template_renders_once_into_the_stored_content(
    client: httpx.AsyncClient, services: Services, app_name: str
) -> None:
    template = {
        "title": "Booked: {{ data.what }}",
        "body": "{% if data.room is defined %}Room {{ data.room }}, {% endif %}at {{ data.time }}",
        "data": {"url": "https://example.com/v/{{ data.id }}", "n": 3},
        "overrides": {"fcm": {"android": {"notification": {"tag": "{{ data.id }}"}}}},
        "locales": {"de": {"title": "Gebucht: {{ data.what }}"}},
    }
    ok(await client.post(TYPES, json=_type("booked", template=template)), 201)
    data = {"what": "Dentist", "time": "9:00", "id": 7}
    content = await _stored(services, await _send(client, type="booked", data=data))
    assert content["title"] == "Booked: Dentist"
    assert content["body"] == "at 9:00"
    assert content["data"] == {"url": "https://example.com/v/7", "n": 3, **data}
    assert content["overrides"] == {"fcm": {"android": {"notification": {"tag": "7"}}}}
    assert content["locales"] == {"de": {"title": "Gebucht: Dentist"}}
    assert "template" not in content  # nothing is left to render per delivery
    # The request's own text wins.
    content = await _stored(
        services,
        await _send(
            client, type="booked", data=data, title="Mine", locales={"de": {"title": "Meins"}}
        ),
    )
    assert (content["title"], content["body"]) == ("Mine", "at 9:00")
    assert content["locales"]["de"]["title"] == "Meins"


async def test_a_template_failing_on_the_data_is_refused_naming_its_field(
    client: httpx.AsyncClient, app_name: str
) -> None:
    ok(await client.post(TYPES, json=_type("booked", template={"body": "At {{ data.time }}"})), 201)
    answer = await _send(client, type="booked", data={"other": 1})
    error = error_of(answer, 422, "validation_failed")
    assert error["details"]["field"] == "template.body"
    assert "time" in error["message"]
    ok(await client.post(TYPES, json=_type("long", template={"title": "{{ 'x' * 300 }}"})), 201)
    assert field_of(await _send(client, type="long", data={"a": 1})) == "template.title"


async def test_a_recipient_template_is_checked_against_the_data_at_accept(
    client: httpx.AsyncClient, services: Services, app_name: str
) -> None:
    template = {"body": "Hi {{ user.attributes.name }}, {{ data.what }} at {{ device.platform }}"}
    made = ok(await client.post(TYPES, json=_type("hello", template=template)), 201)
    assert field_of(await _send(client, type="hello", data={})) == "template.body"
    content = await _stored(services, await _send(client, type="hello", data={"what": "tea"}))
    assert "body" not in content  # rendered per delivery
    assert content["template"] == {"type": made["id"], "version": 1, "source": template}


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ data.__class__ }}",
        "{{ data.get.__self__ }}",
        "{{ data.update({'x': 1}) }}",
    ],
)
async def test_sandbox_escapes_are_refused(
    client: httpx.AsyncClient, app_name: str, text: str
) -> None:
    ok(await client.post(TYPES, json=_type("evil", template={"body": text})), 201)
    answer = await _send(client, type="evil", data={"a": 1})
    error = error_of(answer, 422)
    assert error["details"]["field"] == "template.body"
    assert "unsafe" in error["message"] or "SecurityError" in error["message"], error
    preview = await client.post(f"{TYPES}/evil/preview", json={"data": {"a": 1}})
    assert field_of(preview) == "template.body"


async def test_preview_renders_for_a_user_device_and_locale(
    client: httpx.AsyncClient, app_name: str
) -> None:
    template = {
        "title": "Hi {{ user.attributes.name }}",
        "body": "{{ data.what }} on {{ device.platform }}",
        "locales": {"de": {"title": "Hallo {{ user.attributes.name }}"}, "fr": {"title": "Salut"}},
    }
    ok(await client.post(TYPES, json=_type("hello", template=template)), 201)
    ok(await client.put("/v1/users/u1", json={"attributes": {"name": "Ann"}}), 201)
    device = ok(
        await client.post(
            f"/v1/apps/{app_name}/devices",
            json={"provider": "fcm", "token": "t" * 40, "user": "u1", "platform": "android"},
        ),
        201,
    )
    shown = ok(
        await client.post(
            f"{TYPES}/hello/preview", json={"data": {"what": "Tea"}, "device": device["id"]}
        )
    )
    assert (shown["title"], shown["body"]) == ("Hi Ann", "Tea on android")
    assert shown["locales"] == {"de": {"title": "Hallo Ann"}, "fr": {"title": "Salut"}}
    one = ok(
        await client.post(
            f"{TYPES}/hello/preview",
            json={"data": {"what": "Tea"}, "user": "u1", "locale": "de-AT"},
        )
    )
    assert one["locales"] == {"de": {"title": "Hallo Ann"}}
    missing = await client.post(f"{TYPES}/hello/preview", json={"data": {}, "user": "u1"})
    assert field_of(missing) == "template.body"
    ok(await client.put("/v1/users/u2", json={"attributes": {}}), 201)
    strict = await client.post(f"{TYPES}/hello/preview", json={"data": {"what": "x"}, "user": "u2"})
    assert field_of(strict) == "template.title"
    error_of(await client.post(f"{TYPES}/hello/preview", json={"user": "nobody"}), 404)
