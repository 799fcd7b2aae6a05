"""What the OpenAPI document says beyond the routes' signatures (SQLite only: this is about
the document, not storage).

Every request body has an example (api/body_examples.py), valid by its own schema and
accepted by the API in the order a new instance would be set up; and each keyed operation
lists only the error statuses its shape can cause (api/error_statuses.py). That it lists
every status it does answer is schemathesis's check (tests/api/test_openapi.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from pushgate.api.body_examples import EXAMPLES
from pushgate.api.error_statuses import CAUSES
from pushgate.wiring import build_services
from tests.api.expect import ok
from tests.conftest import api_client, fresh_sqlite, make_settings

# Each example body sent where the API takes it: (method, path, the body's schema name).
SETUP = [
    ("POST", "/v1/tenants", "TenantInput"),
    ("PATCH", "/v1/tenants/acme", "TenantPatch"),
    ("POST", "/v1/apps", "AppInput"),
    ("PATCH", "/v1/apps/shop", "AppUpdate"),
    ("PUT", "/v1/users/alice", "UserInput"),
    ("PUT", "/v1/users/alice/aliases", "AliasInput"),
    ("POST", "/v1/apps/shop/devices", "DeviceInput"),
    ("POST", "/v1/apps/shop/actions", "ActionInput"),
    ("PATCH", "/v1/apps/shop/actions/approve", "ActionPatch"),
    ("POST", "/v1/apps/shop/actions", "reject"),
    ("POST", "/v1/apps/shop/actions", "later"),
    ("POST", "/v1/apps/shop/action-sets", "ActionSetInput"),
    ("PATCH", "/v1/apps/shop/action-sets/approval", "ActionSetPatch"),
    ("POST", "/v1/apps/shop/types", "TypeInput"),
    ("PATCH", "/v1/apps/shop/types/booking", "TypePatch"),
    ("POST", "/v1/apps/shop/types/booking/preview", "PreviewInput"),
    ("POST", "/v1/apps/shop/triggers", "TriggerInput"),
    ("PATCH", "/v1/apps/shop/triggers/booked", "TriggerPatch"),
    ("POST", "/v1/apps/shop/triggers/booked/test", "TriggerTestInput"),
    ("POST", "/v1/events", "EventInput"),
    ("POST", "/v1/events:batch", "EventBatchInput"),
    ("POST", "/v1/sources", "SourceInput"),
    ("PATCH", "/v1/sources/scheduler", "SourcePatch"),
    ("POST", "/v1/units", "UnitInput"),
    ("PATCH", "/v1/units/depot-7", "UnitPatch"),
    ("PUT", "/v1/settings", "SettingsIn"),
    ("PATCH", "/v1/units/depot-7/settings", "SettingIn"),
    ("PUT", "/v1/users/alice/preferences", "UserPreferencesInput"),
    ("PUT", "/v1/devices/{device}/preferences", "DevicePreferencesInput"),
    ("POST", "/v1/notifications", "NotificationInput"),
    ("POST", "/v1/keys", "KeyInput"),
    ("POST", "/v1/relay/origins", "OriginInput"),
    ("PATCH", "/v1/relay/origins/0b7c6a52-4c1e-4f43-9a57-0d3f3b8f2d11", "OriginPatch"),
    ("POST", "/v1/relay/origins/0b7c6a52-4c1e-4f43-9a57-0d3f3b8f2d11/keys", "OriginKeyInput"),
    ("POST", "/v1/packages:install", "PackageInstallInput"),
    ("POST", "/v1/packages:uninstall", "PackageUninstallInput"),
]
# Bodies that carry what only a delivered push holds (a token), or that only an origin's
# relay key may send: their examples are checked against their schemas here, and sent with
# real tokens and keys by their own tests.
FROM_PUSHES = {"AnswerIn": "tests/api/test_action_answers.py"}
FROM_PUSHES["InteractionsIn"] = "tests/api/test_interactions.py"
FROM_PUSHES["RelayBatch"] = "tests/relay/test_relay_e2e.py"
# A host's body to its source, verified by the source's JWT or signature.
FROM_PUSHES["InboundBody"] = "tests/api/test_inbound.py"
MORE_ACTIONS = {
    name: {"key": name, "title": name.title(), "handler": {"kind": "record"}}
    for name in ("reject", "later")
}


@pytest.fixture
async def client(
    tmp_path: Path, migrated_sqlite_template: Path
) -> AsyncIterator[httpx.AsyncClient]:
    services = await build_services(
        make_settings(tmp_path, fresh_sqlite(migrated_sqlite_template, tmp_path))
    )
    try:
        made = await services.access.bootstrap_admin_key()
        assert made is not None
        async with api_client(services, made.plaintext) as http:
            yield http
    finally:
        await services.close()


def _bodies(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(operation, its JSON request body) for every operation that takes one."""
    return [
        (f"{method.upper()} {path}", operation["requestBody"]["content"]["application/json"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


async def test_every_body_has_an_example_valid_by_its_schema(
    client: httpx.AsyncClient,
) -> None:
    document = ok(await client.get("/openapi.json"))
    bodies = _bodies(document)
    assert len(bodies) >= 18
    for operation, body in bodies:
        examples = (
            [body["example"]]
            if "example" in body
            else [e["value"] for e in body.get("examples", {}).values()]
        )
        assert examples, f"{operation} has no example"
        validator = jsonschema_rs.validator_for(
            {**body["schema"], "components": document["components"]}
        )
        for example in examples:
            assert validator.is_valid(example), (operation, example)


async def test_every_example_is_accepted(client: httpx.AsyncClient) -> None:
    statuses = []
    made: dict[str, str] = {}
    for method, path, name in SETUP:
        body = MORE_ACTIONS.get(name) or EXAMPLES[name]
        answer = await client.request(method, path.format_map(made), json=body)
        assert answer.is_success, (method, path, answer.text)
        statuses.append(answer.status_code)
        if path.endswith("/devices"):
            made["device"] = answer.json()["id"]
    assert set(EXAMPLES) - {name for _, _, name in SETUP} - {"KeyPatch", "KeyRotation"} == set(
        FROM_PUSHES
    )
    rotated = ok(await client.get("/v1/keys?tenant=acme"))[0]["id"]
    answer = await client.patch(f"/v1/keys/{rotated}", json=EXAMPLES["KeyPatch"])
    assert answer.is_success, answer.text
    answer = await client.post(f"/v1/keys/{rotated}/rotate", json=EXAMPLES["KeyRotation"])
    assert answer.is_success, answer.text
    assert statuses.count(201) >= 6


async def test_only_the_statuses_an_operation_can_cause(client: httpx.AsyncClient) -> None:
    document = ok(await client.get("/openapi.json"))
    operations = {
        f"{method.upper()} {path}": sorted(int(s) for s in operation["responses"] if s[0] == "4")
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if path.startswith("/v1/") and not path.startswith("/v1/push/")
    }
    assert set(CAUSES) == {400, 401, 403, 404, 409, 413, 422, 429}
    # Reading takes no body and changes nothing; a list of everything names nothing.
    assert operations["GET /v1/apps/{app}"] == [401, 403, 404, 422, 429]
    assert operations["GET /v1/tenants"] == [401, 403, 429]
    assert operations["DELETE /v1/apps/{app}"] == [401, 403, 404, 409, 422, 429]
    assert operations["POST /v1/apps"] == [400, 401, 403, 404, 409, 413, 422, 429]
    for name, statuses in operations.items():
        method = name.split()[0]
        if method in ("GET", "DELETE"):
            assert {400, 413}.isdisjoint(statuses), name
        if method == "GET":
            assert 409 not in statuses, name
        assert {401}.issubset(statuses), name
