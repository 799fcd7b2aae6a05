"""What a web page and its service worker need of the API (docs/clients.md, "Web"): the
app's VAPID public key for a devices:register key, cross-origin access to the paths they
call and to nothing else, and the SDK's files."""

from __future__ import annotations

from pathlib import Path

import httpx

from pushgate.sdk.routes import FILES, WEB_DIR
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, ok

ROOT = Path(__file__).resolve().parents[2]
SITE = "https://shop.example.com"
VAPID = {"subject": "mailto:ops@example.com", "generate": True}


async def test_a_register_key_reads_the_apps_vapid_public_key(
    client: httpx.AsyncClient, app_name: str, make_key: MakeKey, other_tenant: str
) -> None:
    path = f"/v1/apps/{app_name}/webpush/vapid-public-key"
    key = await make_key("devices:register")
    missing = await client.get(path, headers=bearer(key))
    assert error_of(missing, 404)["details"] == {"app": app_name, "kind": "webpush"}

    made = ok(await client.put(f"/v1/apps/{app_name}/credentials/webpush", json=VAPID))
    public = made["values"]["application_server_key"]
    read = ok(await client.get(path, headers=bearer(key)))
    assert read == {"app": app_name, "application_server_key": public}
    # The acme tenant's app of the same name has no credentials: the key's tenant decides.
    acme_key = await make_key("devices:register", tenant=other_tenant)
    error_of(await client.get(path, headers=bearer(acme_key)), 404)
    error_of(await client.get(path, headers=bearer(await make_key("relay"))), 403)
    error_of(await client.get(path, headers=bearer("pgk_000000000000_nothing")), 401)


async def test_browser_paths_answer_preflights_before_any_key(client: httpx.AsyncClient) -> None:
    cases = {
        "/v1/interactions": "POST",
        "/v1/apps/shop/devices": "POST",
        "/v1/apps/shop/webpush/vapid-public-key": "GET",
        "/v1/push/shop/action/approve": "POST",
        "/api/now/v1/push/shop/action/approve": "POST",
        "/v1/push/responses/0190a6f0-0000-7000-8000-000000000000": "GET",
        "/sdk/web.js": "GET",
    }
    for path, method in cases.items():
        asked = {
            "Origin": SITE,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
            "Authorization": "",
        }
        answer = await client.options(path, headers=asked)
        assert answer.status_code == 204, (path, answer.text)
        assert answer.headers["access-control-allow-origin"] == "*"
        assert answer.headers["access-control-allow-methods"] == method
        allowed = answer.headers["access-control-allow-headers"].split(", ")
        assert {"authorization", "content-type", "pushgate-user-token"} <= set(allowed)
        assert "access-control-allow-credentials" not in answer.headers


async def test_browser_paths_answers_are_readable_across_origins(
    client: httpx.AsyncClient, app_name: str
) -> None:
    # An error answer too, so a page can read why it was refused.
    refused = await client.post("/v1/interactions", json={}, headers={"Origin": SITE})
    assert error_of(refused, 422)
    assert refused.headers["access-control-allow-origin"] == "*"
    assert "retry-after" in refused.headers["access-control-expose-headers"]
    served = await client.get("/sdk/web.js", headers={"Origin": SITE})
    assert served.headers["access-control-allow-origin"] == "*"
    # Without an Origin (not a browser's cross-origin request) nothing is added.
    plain = await client.get("/sdk/web.js")
    assert "access-control-allow-origin" not in plain.headers


async def test_the_rest_of_the_api_stays_closed_to_other_origins(
    client: httpx.AsyncClient, app_name: str
) -> None:
    for path in ("/v1/apps", "/v1/notifications", "/v1/apps/mobile/credentials", "/console"):
        asked = {"Origin": SITE, "Access-Control-Request-Method": "GET"}
        answer = await client.options(path, headers=asked)
        assert "access-control-allow-origin" not in answer.headers, path
        read = await client.get(path, headers={"Origin": SITE})
        assert "access-control-allow-origin" not in read.headers, path


async def test_the_sdk_files_are_served_and_revalidated(client: httpx.AsyncClient) -> None:
    for name, file in FILES.items():
        served = await client.get(f"/sdk/{name}")
        assert served.status_code == 200
        assert served.headers["content-type"] == "text/javascript; charset=utf-8"
        assert served.content == (WEB_DIR / file).read_bytes()
        # The repository's clients/web/ holds the same files (links to these).
        assert (ROOT / "clients" / "web" / file).read_bytes() == served.content
        again = await client.get(f"/sdk/{name}", headers={"If-None-Match": served.headers["etag"]})
        assert again.status_code == 304
    error_of(await client.get("/sdk/pushgate-web.js"), 404)
