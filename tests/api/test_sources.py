"""Inbound sources over the API: define, read, page, change, pause, delete; secrets sealed
and never shown; what is refused, each a 422 naming the field; admin scope and tenants
(docs/events.md, "Inbound sources")."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from pushgate.config import decode_secret_key
from pushgate.core.inbound_inputs import Hs256Key
from pushgate.core.inbound_sources import SourceCatalog
from pushgate.core.secret_rotation import reseal_all
from pushgate.core.secretbox import SecretBox
from pushgate.storage.inbound_sources import SourceStore
from pushgate.storage.tables import inbound_sources
from pushgate.wiring import Services
from tests.api.conftest import MakeKey
from tests.api.expect import bearer, error_of, field_of, ok
from tests.api.inbound_scene import (
    HS_SECRET,
    WHSEC,
    datanotifier,
    ec_key,
    public_pem,
    rsa_key,
    standard,
)

HS256 = {"alg": "HS256", "secret": HS_SECRET}


async def test_a_source_is_defined_read_listed_changed_paused_and_deleted(
    client: httpx.AsyncClient, services: Services
) -> None:
    made = ok(await client.post("/v1/sources", json=datanotifier(HS256)), 201)
    assert (made["key"], made["kind"], made["version"], made["paused"]) == (
        "scheduler",
        "datanotifier",
        1,
        False,
    )
    assert made["path"] == f"/v1/inbound/{made['id']}"
    assert made["verification"] == {"alg": "HS256"}
    ok(await client.post("/v1/sources", json=standard()), 201)
    # Sealed at rest: neither secret is in the stored row.
    rows = await services.record_event_store.fetch_all(sa.select(inbound_sources))
    stored = repr([tuple(row) for row in rows])
    assert HS_SECRET not in stored
    assert WHSEC.removeprefix("whsec_") not in stored
    for answer in (
        await client.get("/v1/sources"),
        await client.get("/v1/sources/scheduler"),
        await client.get("/v1/sources/billing"),
    ):
        assert HS_SECRET not in answer.text
        assert "whsec_" not in answer.text
    page = ok(await client.get("/v1/sources", params={"limit": 1}))
    assert ([s["key"] for s in page["items"]], page["next"]) == (["billing"], "billing")
    rest = ok(await client.get("/v1/sources", params={"after": "billing"}))
    assert [s["key"] for s in rest["items"]] == ["scheduler"]
    rsa = {"alg": "RS256", "public_key": public_pem(rsa_key())}
    changed = ok(await client.patch("/v1/sources/scheduler", json={"verification": rsa}))
    assert (changed["version"], changed["verification"]) == (2, rsa)
    assert changed["mapping"] == made["mapping"]
    paused = ok(await client.patch("/v1/sources/scheduler", json={"paused": True}))
    assert paused["paused"] is True
    assert (await client.delete("/v1/sources/scheduler")).status_code == 204
    error_of(await client.get("/v1/sources/scheduler"), 404, "not_found")
    error_of(await client.post("/v1/sources", json=standard()), 409)
    actions = [
        e["action"] for e in ok(await client.get("/v1/audit", params={"limit": 50}))["items"]
    ]
    for action in ("source.create", "source.update", "source.pause", "source.delete"):
        assert action in actions


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (datanotifier({"alg": "HS256", "secret": "too short"}), "secret"),
        (datanotifier({"alg": "RS256", "public_key": "not pem"}), "public_key"),
        (datanotifier({"alg": "ES256", "public_key": public_pem(rsa_key())}), "public_key"),
        (datanotifier({"alg": "RS256", "public_key": public_pem(ec_key())}), "public_key"),
        (datanotifier({"alg": "none", "secret": HS_SECRET}), "verification"),
        (standard(verification={"secret": "whsec_c2hvcnQ="}), "secret"),
        (standard(verification={"secret": HS_SECRET}), "secret"),
        (datanotifier(HS256, kind="carrier-pigeon"), "kind"),
        (datanotifier(HS256, key="Not A Key"), "key"),
        (
            datanotifier(HS256, mapping={"name": "a..b", "record_type": "x", "record_id": "i"}),
            "name",
        ),
        (
            datanotifier(HS256, mapping={"name": "t", "record_type": "x y", "record_id": "i"}),
            "record_type",
        ),
        (datanotifier(HS256, mapping={"name": "t", "record_type": "x"}), "record_id"),
        (datanotifier(HS256, rate_limit={"per_second": 0, "burst": 1}), "per_second"),
    ],
)
async def test_a_source_that_cannot_work_is_refused_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    answer = await client.post("/v1/sources", json=body)
    error_of(answer, 422)
    assert field in answer.text


async def test_a_change_is_checked_as_the_whole_source(client: httpx.AsyncClient) -> None:
    ok(await client.post("/v1/sources", json=datanotifier(HS256)), 201)
    wrong = {"verification": {"secret": WHSEC}}  # a Standard Webhooks secret, for a JWT source
    assert field_of(await client.patch("/v1/sources/scheduler", json=wrong)) == "verification"
    missing_app = await client.patch("/v1/sources/scheduler", json={"app": "nope"})
    error_of(missing_app, 404)
    assert ok(await client.get("/v1/sources/scheduler"))["version"] == 1


async def test_sources_take_the_admin_scope_and_stay_in_their_tenant(
    client: httpx.AsyncClient, make_key: MakeKey, other_tenant: str
) -> None:
    ok(await client.post("/v1/sources", json=datanotifier(HS256)), 201)
    sender = await make_key("send")
    error_of(await client.get("/v1/sources", headers=bearer(sender)), 403)
    error_of(await client.post("/v1/sources", json=standard(), headers=bearer(sender)), 403)
    theirs = await make_key("admin", tenant=other_tenant)
    assert ok(await client.get("/v1/sources", headers=bearer(theirs)))["items"] == []
    error_of(await client.get("/v1/sources/scheduler", headers=bearer(theirs)), 404)


async def test_key_rotation_reseals_a_sources_secret(
    client: httpx.AsyncClient, services: Services
) -> None:
    made = ok(await client.post("/v1/sources", json=datanotifier(HS256)), 201)
    new_key = secrets.token_bytes(32)
    rotated = SecretBox(new_key, previous_keys=[old_box_key(services)])
    report = await reseal_all(services.accounts, rotated)
    assert (report.resealed, report.unreadable) == (1, [])
    catalog = SourceCatalog(
        SourceStore(services.engine), services.registry, SecretBox(new_key), audit=services.audit
    )
    found = await catalog.by_id(made["id"])
    assert found is not None
    assert found.spec.verification == Hs256Key(secret=HS_SECRET)


def old_box_key(services: Services) -> bytes:
    """The instance key the services were built with (tests/conftest.py's settings)."""
    key = services.settings.secret_key
    assert key is not None
    return decode_secret_key(key.get_secret_value())
