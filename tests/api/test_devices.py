"""Devices: registration per provider, upserts, token changes, unregistering, listing."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx

from pushgate.core.ids import now_ms
from pushgate.core.models import DeviceState
from pushgate.wiring import Services
from tests.api.expect import error_of, field_of, ok
from tests.api.material import apns_token, browser_subscription, registration_token

WNS_CHANNEL = "https://db5p.notify.windows.com/w/?token=AwYAAAB" + secrets.token_urlsafe(40)


async def register(
    client: httpx.AsyncClient, body: dict[str, object], status: int = 201
) -> dict[str, Any]:
    answer = await client.post("/v1/apps/mobile/devices", json=body)
    registered: dict[str, Any] = ok(answer, status)
    return registered


async def test_every_provider_registers(client: httpx.AsyncClient, app_name: str) -> None:
    apns = apns_token()
    subscription = browser_subscription("https://fcm.googleapis.com/fcm/send/" + "c" * 40)
    fcm, hms = registration_token(), registration_token()
    cases = [
        ({"provider": "apns", "token": apns.upper()}, "ios", apns),
        ({"provider": "fcm", "token": fcm}, "android", fcm),
        ({"provider": "hms", "token": hms}, "huawei", hms),
        (
            {"provider": "webpush", "subscription": subscription.as_json()},
            "web",
            subscription.endpoint,
        ),
        ({"provider": "wns", "token": WNS_CHANNEL}, "windows", WNS_CHANNEL),
        (
            {"provider": "webhook", "token": "https://hooks.example.com/d/1"},
            "server",
            "https://hooks.example.com/d/1",
        ),
        ({"provider": "apns", "token": apns_token(), "platform": "macos"}, "macos", None),
    ]
    for body, platform, token in cases:
        device = await register(client, body)
        assert (device["provider"], device["platform"], device["state"]) == (
            body["provider"],
            platform,
            "active",
        )
        if token is not None:
            assert device["token"] == token
        assert ok(await client.get(f"/v1/devices/{device['id']}")) == device
    web = ok(await client.get("/v1/devices?provider=webpush"))["items"][0]
    assert web["keys"] == {"p256dh": subscription.p256dh, "auth": subscription.auth}
    assert len(ok(await client.get("/v1/devices"))["items"]) == len(cases)


async def test_device_fields_are_stored(client: httpx.AsyncClient, app_name: str) -> None:
    body = {
        "provider": "fcm",
        "token": registration_token(),
        "user": "emp-9",
        "locale": "pt-BR",
        "timezone": "America/Sao_Paulo",
        "topics": ["news", "alerts", "news"],
        "tags": ["tier:gold", "beta"],
        "app_version": "4.2.0",
    }
    device = await register(client, body)
    user = ok(await client.get("/v1/users/emp-9"))
    assert device["user_id"] == user["id"]
    assert (device["locale"], device["timezone"], device["app_version"]) == (
        "pt-BR",
        "America/Sao_Paulo",
        "4.2.0",
    )
    assert (device["topics"], device["tags"]) == (["alerts", "news"], ["beta", "tier:gold"])


async def test_registering_again_refreshes_the_same_device(
    client: httpx.AsyncClient, app_name: str
) -> None:
    token = apns_token()
    first = await register(client, {"provider": "apns", "token": token, "topics": ["a"]})
    again = await register(
        client, {"provider": "apns", "token": token.upper(), "topics": ["b"]}, status=200
    )
    assert again["id"] == first["id"]
    assert again["topics"] == ["b"]
    assert again["created_at"] == first["created_at"]
    assert len(ok(await client.get("/v1/devices"))["items"]) == 1


async def test_a_token_change_moves_the_registration(
    client: httpx.AsyncClient, app_name: str
) -> None:
    old, new, newest = registration_token(), registration_token(), registration_token()
    first = await register(client, {"provider": "fcm", "token": old, "user": "u"})
    moved = await register(client, {"provider": "fcm", "token": new, "old_token": old}, 200)
    assert (moved["id"], moved["token"]) == (first["id"], new)
    await register(client, {"provider": "fcm", "token": newest, "old_token": new}, 200)
    history = ok(await client.get(f"/v1/devices/{first['id']}/history"))
    assert [(h["old_token"], h["new_token"]) for h in history] == [(old, new), (new, newest)]
    assert all(h["changed_at"] for h in history)
    listed = ok(await client.get("/v1/devices"))["items"]
    assert [(d["id"], d["token"]) for d in listed] == [(first["id"], newest)]
    # Registering the old token again is a new device; the history stays with the first.
    fresh = await register(client, {"provider": "fcm", "token": old})
    assert fresh["id"] != first["id"]
    assert ok(await client.get(f"/v1/devices/{fresh['id']}/history")) == []


FULL = {
    "platform": "macos",
    "user": "emp-7",
    "locale": "fr-CA",
    "timezone": "America/Toronto",
    "topics": ["news"],
    "tags": ["tier:gold"],
    "app_version": "5.1",
}
KEPT = ("platform", "user_id", "locale", "timezone", "topics", "tags", "app_version")


def kept_of(device: dict[str, Any]) -> tuple[object, ...]:
    return tuple(device[name] for name in KEPT)


async def user_device_ids(client: httpx.AsyncClient, external_id: str) -> list[str]:
    return [d["id"] for d in ok(await client.get(f"/v1/users/{external_id}/devices"))["items"]]


async def test_a_token_move_keeps_every_field_the_request_does_not_give(
    client: httpx.AsyncClient, app_name: str
) -> None:
    old, new = apns_token(), apns_token()
    first = await register(client, {"provider": "apns", "token": old, **FULL})
    moved = await register(client, {"provider": "apns", "token": new, "old_token": old}, 200)
    assert (moved["id"], moved["token"]) == (first["id"], new)
    assert kept_of(moved) == kept_of(first)
    assert ok(await client.get(f"/v1/devices/{first['id']}")) == moved
    # Still reached by a send to its user.
    assert await user_device_ids(client, "emp-7") == [first["id"]]
    # What a move gives it changes; null clears.
    newest = apns_token()
    body = {"provider": "apns", "token": newest, "old_token": new, "locale": None, "tags": []}
    again = await register(client, body, 200)
    assert (again["locale"], again["tags"], again["user_id"]) == (None, [], first["user_id"])


async def test_registering_again_keeps_omitted_fields_and_null_clears(
    client: httpx.AsyncClient, app_name: str
) -> None:
    token = apns_token()
    first = await register(client, {"provider": "apns", "token": token, **FULL})
    plain = await register(client, {"provider": "apns", "token": token.upper()}, 200)
    assert (plain["id"], kept_of(plain)) == (first["id"], kept_of(first))
    assert ok(await client.get(f"/v1/devices/{first['id']}")) == plain
    some = {"locale": "de", "topics": ["alerts"]}
    changed = await register(client, {"provider": "apns", "token": token, **some}, 200)
    assert (changed["locale"], changed["topics"]) == ("de", ["alerts"])
    assert (changed["user_id"], changed["platform"]) == (first["user_id"], "macos")
    cleared = await register(
        client,
        {
            "provider": "apns",
            "token": token,
            **dict.fromkeys(["platform", "user", "locale", "timezone", "app_version"]),
            "topics": [],
            "tags": [],
        },
        200,
    )
    assert kept_of(cleared) == ("ios", None, None, None, [], [], None)
    assert ok(await client.get(f"/v1/devices/{first['id']}")) == cleared
    assert await user_device_ids(client, "emp-7") == []
    # An alias names the user too: given as null it clears, given it sets.
    ok(await client.put("/v1/users/emp-7/aliases", json={"app": "mobile", "alias": "m7"}), 204)
    aliased = await register(client, {"provider": "apns", "token": token, "user_alias": "m7"}, 200)
    assert aliased["user_id"] == first["user_id"]
    unaliased = await register(
        client, {"provider": "apns", "token": token, "user_alias": None}, 200
    )
    assert unaliased["user_id"] is None


async def test_a_move_onto_a_registered_token_carries_the_old_registrations_fields(
    client: httpx.AsyncClient, app_name: str
) -> None:
    old, new = registration_token(), registration_token()
    first = await register(client, {"provider": "fcm", "token": old, **FULL})
    # The app registered the new token on its own before reporting the move.
    bare = await register(client, {"provider": "fcm", "token": new, "locale": "it"})
    moved = await register(
        client, {"provider": "fcm", "token": new, "old_token": old, "locale": "es"}, 200
    )
    assert moved["id"] == bare["id"]
    assert kept_of(moved) == (*kept_of(first)[:2], "es", *kept_of(first)[3:])
    retired = ok(await client.get(f"/v1/devices/{first['id']}"))
    assert (retired["state"], retired["state_reason"]) == ("unregistered", "token replaced")
    # An old token nobody holds: a refresh of the new token's registration, which keeps.
    again = await register(
        client, {"provider": "fcm", "token": new, "old_token": registration_token()}, 200
    )
    assert (again["id"], kept_of(again)) == (moved["id"], kept_of(moved))
    assert sorted(await user_device_ids(client, "emp-7")) == sorted([first["id"], moved["id"]])


async def test_a_token_change_with_an_unknown_old_token_registers(
    client: httpx.AsyncClient, app_name: str
) -> None:
    body = {"provider": "apns", "token": apns_token(), "old_token": apns_token()}
    device = await register(client, body)
    assert device["token"] == body["token"]


async def test_unregister_and_revive(
    client: httpx.AsyncClient, services: Services, app_name: str
) -> None:
    token = apns_token()
    device = await register(client, {"provider": "apns", "token": token})
    gone = ok(await client.delete(f"/v1/devices/{device['id']}"))
    assert (gone["id"], gone["state"]) == (device["id"], "unregistered")
    assert gone["state_reason"] == "unregistered by the client"
    assert ok(await client.get(f"/v1/devices/{device['id']}"))["state"] == "unregistered"
    back = await register(client, {"provider": "apns", "token": token}, status=200)
    assert (back["id"], back["state"], back["state_reason"]) == (device["id"], "active", None)

    # A provider reported the token dead; registering it again makes it live again.
    await services.people.set_device_state(
        device["id"], DeviceState.INVALID, "Unregistered", now_ms()
    )
    invalid = ok(await client.get(f"/v1/devices/{device['id']}"))
    assert (invalid["state"], invalid["state_reason"]) == ("invalid", "Unregistered")
    revived = await register(client, {"provider": "apns", "token": token}, status=200)
    assert (revived["id"], revived["state"]) == (device["id"], "active")


async def test_register_with_a_user_alias(client: httpx.AsyncClient, app_name: str) -> None:
    user = ok(await client.put("/v1/users/emp-3", json={}), 201)
    ok(await client.put("/v1/users/emp-3/aliases", json={"app": "mobile", "alias": "m3"}), 204)
    device = await register(client, {"provider": "apns", "token": apns_token(), "user_alias": "m3"})
    assert device["user_id"] == user["id"]
    unknown = {"provider": "apns", "token": apns_token(), "user_alias": "nobody"}
    error_of(await client.post("/v1/apps/mobile/devices", json=unknown), 404, "not_found")
    both = {"provider": "apns", "token": apns_token(), "user": "emp-3", "user_alias": "m3"}
    assert field_of(await client.post("/v1/apps/mobile/devices", json=both)) == "user"


def invalid_registrations() -> list[tuple[dict[str, object], str]]:
    good_sub = browser_subscription("https://push.example.com/sub/" + "a" * 20)
    not_on_curve = {**good_sub.as_json()}
    not_on_curve["keys"] = {"p256dh": "BA" + "A" * 85, "auth": good_sub.auth}
    short_auth = {**good_sub.as_json(), "keys": {"p256dh": good_sub.p256dh, "auth": "A" * 16}}
    insecure = {**good_sub.as_json(), "endpoint": "http://push.example.com/sub/1"}
    apns = apns_token()
    return [
        ({"provider": "carrier-pigeon", "token": apns}, "provider"),
        ({"provider": "apns"}, "token"),
        ({"provider": "apns", "token": "not-hex-" * 8}, "token"),
        ({"provider": "apns", "token": "abc"}, "token"),
        ({"provider": "fcm", "token": "short"}, "token"),
        ({"provider": "fcm", "token": "has spaces in it, really"}, "token"),
        ({"provider": "wns", "token": "https://evil.example.com/channel"}, "token"),
        ({"provider": "webhook", "token": "ftp://hooks.example.com/x"}, "token"),
        ({"provider": "webpush"}, "subscription"),
        ({"provider": "webpush", "subscription": not_on_curve}, "subscription.keys.p256dh"),
        ({"provider": "webpush", "subscription": short_auth}, "subscription.keys.auth"),
        ({"provider": "webpush", "subscription": insecure}, "subscription.endpoint"),
        (
            {"provider": "webpush", "subscription": {"endpoint": "https://x.example.com/1"}},
            "subscription.keys",
        ),
        ({"provider": "apns", "token": apns, "platform": "amiga"}, "platform"),
        ({"provider": "apns", "token": apns, "timezone": "Nowhere/Land"}, "timezone"),
        ({"provider": "apns", "token": apns, "locale": "!!"}, "locale"),
        ({"provider": "apns", "token": apns, "topics": ["ok", "not ok"]}, "topics.1"),
        ({"provider": "apns", "token": apns, "topics": [f"t{i}" for i in range(201)]}, "topics"),
        ({"provider": "apns", "token": apns, "tags": ["x"] * 101}, "tags"),
        ({"provider": "apns", "token": apns, "app_version": "9" * 65}, "app_version"),
        ({"provider": "apns", "token": apns, "user": "u" * 257}, "user"),
        ({"provider": "apns", "token": apns, "colour": "red"}, "colour"),
    ]


async def test_invalid_registrations_name_the_field(
    client: httpx.AsyncClient, app_name: str
) -> None:
    for body, field in invalid_registrations():
        answer = await client.post("/v1/apps/mobile/devices", json=body)
        assert field_of(answer) == field, (body, answer.text)
    assert ok(await client.get("/v1/devices"))["items"] == []
    assert ok(await client.get("/v1/users"))["items"] == []


async def test_unknown_apps_and_devices_are_404(client: httpx.AsyncClient, app_name: str) -> None:
    body = {"provider": "apns", "token": apns_token()}
    error = error_of(await client.post("/v1/apps/ghost/devices", json=body), 404, "not_found")
    assert error["details"] == {"app": "ghost"}
    for method, path in [
        ("GET", "/v1/devices/nope"),
        ("DELETE", "/v1/devices/nope"),
        ("GET", "/v1/devices/nope/history"),
    ]:
        assert error_of(await client.request(method, path), 404)["details"] == {"device": "nope"}
    error_of(await client.get("/v1/devices/" + "x" * 65), 422, "validation_failed")
    error_of(await client.get("/v1/devices?app=ghost"), 404, "not_found")


async def test_listing_filters_and_pages(client: httpx.AsyncClient, app_name: str) -> None:
    ok(await client.post("/v1/apps", json={"name": "web"}), 201)
    apns_ids = [
        (await register(client, {"provider": "apns", "token": apns_token()}))["id"]
        for _ in range(5)
    ]
    fcm_id = (await register(client, {"provider": "fcm", "token": registration_token()}))["id"]
    web_body = {"provider": "webhook", "token": "https://hooks.example.com/w"}
    web_id = ok(await client.post("/v1/apps/web/devices", json=web_body), 201)["id"]
    ok(await client.delete(f"/v1/devices/{apns_ids[0]}"))

    def ids(page: dict[str, Any]) -> set[str]:
        return {d["id"] for d in page["items"]}

    assert ids(ok(await client.get("/v1/devices?app=web"))) == {web_id}
    assert ids(ok(await client.get("/v1/devices?provider=fcm"))) == {fcm_id}
    assert ids(ok(await client.get("/v1/devices?state=unregistered"))) == {apns_ids[0]}
    active_apns = ok(await client.get("/v1/devices?app=mobile&provider=apns&state=active"))
    assert ids(active_apns) == set(apns_ids[1:])

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = "?limit=3" + (f"&after={cursor}" if cursor else "")
        page = ok(await client.get(f"/v1/devices{query}"))
        seen += [d["id"] for d in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert sorted(seen) == sorted([*apns_ids, fcm_id, web_id])
    assert len(seen) == len(set(seen))
    for bad in ["?provider=telegram", "?state=sleeping", "?limit=0", "?app=Bad%20Name"]:
        error_of(await client.get(f"/v1/devices{bad}"), 422, "validation_failed")


async def test_concurrent_registrations_each_get_their_own_answer(
    client: httpx.AsyncClient, app_name: str
) -> None:
    tokens = [apns_token() for _ in range(8)]
    bodies: list[dict[str, object]] = [
        {"provider": "apns", "token": token, "user": f"emp-{i % 2}"}
        for i, token in enumerate(tokens)
    ]
    bodies.append({"provider": "apns", "token": tokens[0].upper(), "topics": ["again"]})
    bodies.append({"provider": "apns", "token": "not-hex"})
    answers = await asyncio.gather(
        *(client.post("/v1/apps/mobile/devices", json=body) for body in bodies)
    )
    statuses = [answer.status_code for answer in answers]
    assert statuses[1:8] == [201] * 7
    # The twins may be written in either order: one makes the device, one refreshes it.
    assert sorted([statuses[0], statuses[8]]) == [200, 201]
    assert field_of(answers[9]) == "token"
    made = [answer.json() for answer in answers[:9]]
    assert [d["token"] for d in made[:8]] == tokens
    assert made[8]["id"] == made[0]["id"]
    users = {d["user_id"] for d in made[:8]}
    assert len(users) == 2
    listed = ok(await client.get("/v1/devices"))["items"]
    assert {d["id"] for d in listed} == {d["id"] for d in made[:8]}
