"""Apps: create, list, read, update, delete; names unique per tenant and URL-safe."""

from __future__ import annotations

import httpx

from tests.api.expect import error_of, field_of, ok
from tests.api.material import apns_token

USER_AUTH_SECRET = "a-host-system-secret-of-32-chars-or-more"


async def test_create_read_list(client: httpx.AsyncClient) -> None:
    made = ok(await client.post("/v1/apps", json={"name": "mobile", "description": "iOS"}), 201)
    assert (made["name"], made["description"], made["user_auth"]) == ("mobile", "iOS", False)
    assert made["created_at"] == made["updated_at"]
    assert ok(await client.get("/v1/apps/mobile")) == made
    ok(await client.post("/v1/apps", json={"name": "web.app_2"}), 201)
    assert [a["name"] for a in ok(await client.get("/v1/apps"))] == ["mobile", "web.app_2"]


async def test_names_are_unique_and_url_safe(client: httpx.AsyncClient, app_name: str) -> None:
    error_of(await client.post("/v1/apps", json={"name": app_name}), 409, "conflict")
    for bad in ["Mobile", "my app", "a/b", "_x", "x" * 65, "", "app?x=1"]:
        assert field_of(await client.post("/v1/apps", json={"name": bad})) == "name", bad
    too_long = {"name": "ok", "description": "d" * 513}
    assert field_of(await client.post("/v1/apps", json=too_long)) == "description"
    assert field_of(await client.post("/v1/apps", json={"name": "ok", "colour": "red"})) == "colour"
    assert [a["name"] for a in ok(await client.get("/v1/apps"))] == [app_name]


async def test_unknown_apps_are_404(client: httpx.AsyncClient) -> None:
    for method in ["GET", "PATCH", "DELETE"]:
        body: dict[str, str] | None = {} if method == "PATCH" else None
        error = error_of(await client.request(method, "/v1/apps/ghost", json=body), 404)
        assert error["details"] == {"app": "ghost"}
    error_of(await client.get("/v1/apps/ghost/credentials"), 404, "not_found")


async def test_update_changes_only_what_is_sent(client: httpx.AsyncClient) -> None:
    ok(await client.post("/v1/apps", json={"name": "mobile", "description": "first"}), 201)
    renamed = ok(await client.patch("/v1/apps/mobile", json={"name": "phone"}))
    assert (renamed["name"], renamed["description"]) == ("phone", "first")
    error_of(await client.get("/v1/apps/mobile"), 404)
    described = ok(await client.patch("/v1/apps/phone", json={"description": "second"}))
    assert (described["name"], described["description"]) == ("phone", "second")
    assert described["updated_at"] >= renamed["updated_at"]
    assert ok(await client.get("/v1/apps/phone")) == described


async def test_renaming_onto_a_taken_name_conflicts(client: httpx.AsyncClient) -> None:
    ok(await client.post("/v1/apps", json={"name": "one"}), 201)
    ok(await client.post("/v1/apps", json={"name": "two"}), 201)
    error_of(await client.patch("/v1/apps/two", json={"name": "one"}), 409, "conflict")
    assert [a["name"] for a in ok(await client.get("/v1/apps"))] == ["one", "two"]


async def test_user_auth_secret_is_write_only(client: httpx.AsyncClient, app_name: str) -> None:
    answer = await client.patch("/v1/apps/mobile", json={"user_auth_secret": USER_AUTH_SECRET})
    assert ok(answer)["user_auth"] is True
    assert USER_AUTH_SECRET not in answer.text
    read = await client.get("/v1/apps/mobile")
    assert ok(read)["user_auth"] is True
    assert USER_AUTH_SECRET not in read.text
    short = {"user_auth_secret": "too-short"}
    assert field_of(await client.patch("/v1/apps/mobile", json=short)) == "user_auth_secret"
    cleared = ok(await client.patch("/v1/apps/mobile", json={"clear_user_auth_secret": True}))
    assert cleared["user_auth"] is False


async def test_delete_removes_the_app_and_its_devices(
    client: httpx.AsyncClient, app_name: str
) -> None:
    body = {"provider": "apns", "token": apns_token()}
    device = ok(await client.post("/v1/apps/mobile/devices", json=body), 201)
    assert (await client.delete("/v1/apps/mobile")).status_code == 204
    error_of(await client.get("/v1/apps/mobile"), 404, "not_found")
    error_of(await client.get(f"/v1/devices/{device['id']}"), 404, "not_found")
    assert ok(await client.get("/v1/devices"))["items"] == []
    # The name is free again.
    ok(await client.post("/v1/apps", json={"name": "mobile"}), 201)
