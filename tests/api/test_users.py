"""Users: upsert by external id, time zones, aliases per app, listing, deletion."""

from __future__ import annotations

import httpx

from tests.api.expect import error_of, field_of, ok
from tests.api.material import apns_token, registration_token


async def test_upsert_creates_then_updates_only_sent_fields(client: httpx.AsyncClient) -> None:
    first = {"locale": "de-DE", "timezone": "Europe/Berlin", "attributes": {"team": "blue"}}
    made = ok(await client.put("/v1/users/emp-42", json=first), 201)
    assert made["external_id"] == "emp-42"
    assert (made["locale"], made["timezone"], made["attributes"]) == (
        "de-DE",
        "Europe/Berlin",
        {"team": "blue"},
    )
    changed = ok(await client.put("/v1/users/emp-42", json={"locale": "fr"}), 200)
    assert changed["id"] == made["id"]
    assert (changed["locale"], changed["timezone"], changed["attributes"]) == (
        "fr",
        "Europe/Berlin",
        {"team": "blue"},
    )
    assert changed["created_at"] == made["created_at"]
    untouched = ok(await client.put("/v1/users/emp-42", json={}), 200)
    assert (untouched["locale"], untouched["timezone"]) == ("fr", "Europe/Berlin")
    cleared = ok(await client.put("/v1/users/emp-42", json={"timezone": None}), 200)
    assert (cleared["locale"], cleared["timezone"]) == ("fr", None)
    assert ok(await client.get("/v1/users/emp-42")) == cleared


async def test_time_zones_are_iana_names(client: httpx.AsyncClient) -> None:
    ok(await client.put("/v1/users/u", json={}), 201)
    for good in ["UTC", "America/Argentina/Buenos_Aires", "Etc/GMT+5"]:
        assert ok(await client.put("/v1/users/u", json={"timezone": good}))["timezone"] == good
    for bad in ["Mars/Olympus_Mons", "../../etc/passwd", "Europe/", "CET; DROP", "x" * 65, ""]:
        answer = await client.put("/v1/users/u", json={"timezone": bad})
        assert field_of(answer) == "timezone", bad
    assert ok(await client.get("/v1/users/u"))["timezone"] == "Etc/GMT+5"


async def test_other_user_fields_are_bounded(client: httpx.AsyncClient) -> None:
    cases = [
        ({"locale": "english!"}, "locale"),
        ({"attributes": {f"k{i}": i for i in range(65)}}, "attributes"),
        ({"attributes": {"blob": "x" * 17_000}}, "attributes"),
        ({"nickname": "x"}, "nickname"),
    ]
    for body, field in cases:
        assert field_of(await client.put("/v1/users/u", json=body)) == field, body
    error_of(await client.put("/v1/users/" + "x" * 257, json={}), 422, "validation_failed")
    assert ok(await client.get("/v1/users"))["items"] == []


async def test_unknown_users_are_404(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("GET", "/v1/users/ghost"),
        ("DELETE", "/v1/users/ghost"),
        ("GET", "/v1/users/ghost/devices"),
        ("GET", "/v1/users/ghost/aliases"),
    ]:
        error = error_of(await client.request(method, path), 404, "not_found")
        assert error["details"] == {"user": "ghost"}


async def test_users_are_listed_in_pages(client: httpx.AsyncClient) -> None:
    for name in ["e", "a", "d", "c", "b"]:
        ok(await client.put(f"/v1/users/{name}", json={}), 201)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        query = "?limit=2" + (f"&after={cursor}" if cursor else "")
        page = ok(await client.get(f"/v1/users{query}"))
        seen += [u["external_id"] for u in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ["a", "b", "c", "d", "e"]
    for bad in ["?limit=0", "?limit=501", "?limit=x", "?after=" + "x" * 257]:
        error_of(await client.get(f"/v1/users{bad}"), 422, "validation_failed")


async def test_aliases_set_list_resolve_delete(client: httpx.AsyncClient, app_name: str) -> None:
    ok(await client.post("/v1/apps", json={"name": "web"}), 201)
    user = ok(await client.put("/v1/users/emp-7", json={}), 201)
    for app, alias in [("mobile", "m-7"), ("web", "w-7"), ("mobile", "m-seven")]:
        body = {"app": app, "alias": alias}
        assert (await client.put("/v1/users/emp-7/aliases", json=body)).status_code == 204
    listed = ok(await client.get("/v1/users/emp-7/aliases"))
    assert sorted((a["app"], a["alias"]) for a in listed) == [
        ("mobile", "m-7"),
        ("mobile", "m-seven"),
        ("web", "w-7"),
    ]
    assert ok(await client.get("/v1/apps/mobile/aliases/m-7"))["id"] == user["id"]
    assert ok(await client.get("/v1/apps/web/aliases/w-7"))["external_id"] == "emp-7"
    # An alias names a user in one app only.
    error_of(await client.get("/v1/apps/web/aliases/m-7"), 404, "not_found")

    assert (await client.delete("/v1/users/emp-7/aliases/mobile/m-7")).status_code == 204
    error_of(await client.get("/v1/apps/mobile/aliases/m-7"), 404, "not_found")
    error_of(await client.delete("/v1/users/emp-7/aliases/mobile/m-7"), 404, "not_found")
    assert len(ok(await client.get("/v1/users/emp-7/aliases"))) == 2


async def test_alias_errors(client: httpx.AsyncClient, app_name: str) -> None:
    ok(await client.put("/v1/users/a", json={}), 201)
    ok(await client.put("/v1/users/b", json={}), 201)
    ok(await client.put("/v1/users/a/aliases", json={"app": "mobile", "alias": "x"}), 204)
    # Another user cannot delete the alias of a.
    error_of(await client.delete("/v1/users/b/aliases/mobile/x"), 404, "not_found")
    assert ok(await client.get("/v1/apps/mobile/aliases/x"))["external_id"] == "a"
    error_of(await client.put("/v1/users/a/aliases", json={"app": "ghost", "alias": "y"}), 404)
    error_of(await client.put("/v1/users/zz/aliases", json={"app": "mobile", "alias": "y"}), 404)
    error_of(await client.get("/v1/apps/ghost/aliases/x"), 404, "not_found")
    assert field_of(await client.put("/v1/users/a/aliases", json={"app": "mobile"})) == "alias"
    long_alias = {"app": "mobile", "alias": "y" * 257}
    assert field_of(await client.put("/v1/users/a/aliases", json=long_alias)) == "alias"


async def test_an_alias_set_again_moves_to_the_new_user(
    client: httpx.AsyncClient, app_name: str
) -> None:
    ok(await client.put("/v1/users/old", json={}), 201)
    ok(await client.put("/v1/users/new", json={}), 201)
    for user in ["old", "new"]:
        body = {"app": "mobile", "alias": "shared-phone"}
        ok(await client.put(f"/v1/users/{user}/aliases", json=body), 204)
    assert ok(await client.get("/v1/apps/mobile/aliases/shared-phone"))["external_id"] == "new"
    assert ok(await client.get("/v1/users/old/aliases")) == []


async def test_user_devices_span_apps(client: httpx.AsyncClient, app_name: str) -> None:
    ok(await client.post("/v1/apps", json={"name": "android"}), 201)
    phone = {"provider": "apns", "token": apns_token(), "user": "emp-1"}
    tablet = {"provider": "fcm", "token": registration_token(), "user": "emp-1"}
    other = {"provider": "apns", "token": apns_token(), "user": "emp-2"}
    ids = {
        ok(await client.post("/v1/apps/mobile/devices", json=phone), 201)["id"],
        ok(await client.post("/v1/apps/android/devices", json=tablet), 201)["id"],
    }
    ok(await client.post("/v1/apps/mobile/devices", json=other), 201)
    page = ok(await client.get("/v1/users/emp-1/devices"))
    assert {d["id"] for d in page["items"]} == ids
    assert page["next"] is None


async def test_deleting_a_user_unregisters_their_devices(
    client: httpx.AsyncClient, app_name: str
) -> None:
    body = {"provider": "apns", "token": apns_token(), "user": "leaver"}
    device = ok(await client.post("/v1/apps/mobile/devices", json=body), 201)
    ok(await client.put("/v1/users/leaver/aliases", json={"app": "mobile", "alias": "l"}), 204)
    stays = {"provider": "apns", "token": apns_token(), "user": "stayer"}
    kept = ok(await client.post("/v1/apps/mobile/devices", json=stays), 201)

    assert (await client.delete("/v1/users/leaver")).status_code == 204
    error_of(await client.get("/v1/users/leaver"), 404, "not_found")
    error_of(await client.get("/v1/apps/mobile/aliases/l"), 404, "not_found")
    gone = ok(await client.get(f"/v1/devices/{device['id']}"))
    assert (gone["state"], gone["user_id"], gone["state_reason"]) == (
        "unregistered",
        None,
        "user deleted",
    )
    assert gone["state_changed_at"] is not None
    assert ok(await client.get(f"/v1/devices/{kept['id']}"))["state"] == "active"


async def test_users_are_found_by_attribute(client: httpx.AsyncClient) -> None:
    """A host system maps its contact id (or e-mail, or phone) to the app's user."""
    people = {
        "u1": {"email": "ann@example.com", "phone": "+4930111", "crm_id": "C-1", "n": 7},
        "u2": {"email": "bob@example.com", "phone": "+4930222", "crm_id": "C-2"},
        "u3": {"email": "ann@example.com", "crm_id": "C-3"},
    }
    for external_id, attributes in people.items():
        ok(await client.put(f"/v1/users/{external_id}", json={"attributes": attributes}), 201)

    async def found(**params: str) -> list[str]:
        page = ok(await client.get("/v1/users", params=params))
        return [user["external_id"] for user in page["items"]]

    assert await found(email="ann@example.com") == ["u1", "u3"]
    assert await found(phone="+4930222") == ["u2"]
    assert await found(**{"attribute.crm_id": "C-3"}) == ["u3"]
    assert await found(email="ann@example.com", **{"attribute.crm_id": "C-1"}) == ["u1"]
    assert await found(email="ann@example.com", limit="1") == ["u1"]
    assert await found(email="ann@example.com", limit="1", after="u1") == ["u3"]
    assert await found(email="nobody@example.com") == []
    assert await found() == ["u1", "u2", "u3"]
    refused = await client.get("/v1/users", params={"attribute.bad name": "x"})
    assert refused.status_code == 422
