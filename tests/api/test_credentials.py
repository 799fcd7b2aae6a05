"""Provider credentials through the API: every kind, write-only secrets, field errors."""

from __future__ import annotations

import base64
import functools
import json
import secrets
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from pushgate.storage.tables import credentials
from pushgate.wiring import Services
from tests.api import material
from tests.api.expect import error_of, field_of, ok

BUNDLE = "com.example.app"


class Bodies:
    """Every response body the client receives during one test."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.seen: list[str] = []
        client.event_hooks["response"].append(self._keep)

    async def _keep(self, response: httpx.Response) -> None:
        await response.aread()
        self.seen.append(response.text)

    def leaks(self, secret: str, *, except_for: str | None = None) -> list[str]:
        forms = material.secret_forms(secret)
        return [body for body in self.seen if body != except_for and any(f in body for f in forms)]


@pytest.fixture
def bodies(client: httpx.AsyncClient) -> Bodies:
    return Bodies(client)


@functools.cache
def every_kind() -> list[tuple[str, dict[str, Any], list[str]]]:
    """(kind, body, its secret values) for each kind and auth mode."""
    p8 = material.apns_p8()
    password = secrets.token_urlsafe(18)
    p12 = material.apns_p12(password)
    account = material.fcm_service_account()
    vapid = material.b64url(secrets.token_bytes(31) + b"\x01")
    wns_secret, hms_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    authorization = f"Bearer {secrets.token_urlsafe(40)}"
    signing = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return [
        (
            "apns",
            {
                "team_id": "ABCDE12345",
                "key_id": "KEY1234567",
                "private_key": p8,
                "bundle_id": BUNDLE,
                "environment": "sandbox",
            },
            [p8],
        ),
        (
            "apns",
            {
                "certificate_p12": p12,
                "certificate_password": password,
                "bundle_id": BUNDLE,
                "environment": "production",
            },
            [p12, password],
        ),
        ("fcm", {"service_account": account}, [account["private_key"]]),
        ("fcm", {"service_account": json.dumps(account)}, [account["private_key"]]),
        ("webpush", {"vapid_private_key": vapid, "subject": "mailto:ops@example.com"}, [vapid]),
        (
            "wns",
            {"package_sid": "ms-app://s-1-15-2-1234-5678", "client_secret": wns_secret},
            [wns_secret],
        ),
        ("hms", {"app_id": "104857612", "client_secret": hms_secret}, [hms_secret]),
        (
            "webhook",
            {
                "url": "https://hooks.example.com/pushgate",
                "authorization": authorization,
                "signing_secret": signing,
                "user_agent": "acme-hooks/1.0",
                "timeout_seconds": 10,
            },
            [authorization, signing],
        ),
    ]


async def test_every_kind_is_stored_and_never_shown(
    client: httpx.AsyncClient, services: Services, app_name: str, bodies: Bodies
) -> None:
    for kind, body, secret_values in every_kind():
        written = ok(await client.put(f"/v1/apps/mobile/credentials/{kind}", json=body))
        assert written["kind"] == kind
        assert written["generated"] == {}
        listed = {c["kind"]: c for c in ok(await client.get("/v1/apps/mobile/credentials"))}
        assert listed[kind]["fingerprints"] == written["fingerprints"]
        assert listed[kind]["values"] == written["values"]
        assert set(written["fingerprints"]) <= set(written["fields_set"])
        for value in secret_values:
            assert bodies.leaks(value) == [], kind
    assert sorted(listed) == ["apns", "fcm", "hms", "webhook", "webpush", "wns"]
    async with services.engine.connect() as connection:
        stored = repr((await connection.execute(sa.select(credentials))).all())
    for _, _, secret_values in every_kind():
        assert all(form not in stored for v in secret_values for form in material.secret_forms(v))


async def test_public_values_are_shown(client: httpx.AsyncClient, app_name: str) -> None:
    kinds = every_kind()
    apns_token_auth, apns_certificate, fcm = kinds[0][1], kinds[1][1], kinds[2][1]
    view = ok(await client.put("/v1/apps/mobile/credentials/apns", json=apns_token_auth))
    assert view["values"] == {
        "auth_mode": "token",
        "bundle_id": BUNDLE,
        "environment": "sandbox",
        "key_id": "KEY1234567",
        "team_id": "ABCDE12345",
    }
    assert list(view["fingerprints"]) == ["private_key"]
    view = ok(await client.put("/v1/apps/mobile/credentials/apns", json=apns_certificate))
    assert view["values"]["auth_mode"] == "certificate"
    assert BUNDLE in view["values"]["certificate_subject"]
    assert sorted(view["fingerprints"]) == ["certificate_p12", "certificate_password"]
    view = ok(await client.put("/v1/apps/mobile/credentials/fcm", json=fcm))
    account = fcm["service_account"]
    assert view["values"]["project_id"] == account["project_id"]
    assert view["values"]["client_email"] == account["client_email"]
    # Replacing keeps one set per kind.
    assert [c["kind"] for c in ok(await client.get("/v1/apps/mobile/credentials"))] == [
        "apns",
        "fcm",
    ]


async def test_generated_secrets_appear_once(
    client: httpx.AsyncClient, app_name: str, bodies: Bodies
) -> None:
    webpush = await client.put(
        "/v1/apps/mobile/credentials/webpush",
        json={"subject": "https://example.com/contact", "generate": True},
    )
    vapid = ok(webpush)["generated"]["vapid_private_key"]
    assert len(base64.urlsafe_b64decode(vapid + "==")) == 32
    assert ok(webpush)["values"]["application_server_key"]
    webhook = await client.put(
        "/v1/apps/mobile/credentials/webhook",
        json={"url": "https://hooks.example.com/in", "generate_signing_secret": True},
    )
    signing = ok(webhook)["generated"]["signing_secret"]
    assert signing.startswith("whsec_")
    listed = ok(await client.get("/v1/apps/mobile/credentials"))
    assert all(c["generated"] == {} for c in listed)
    assert bodies.leaks(vapid, except_for=webpush.text) == []
    assert bodies.leaks(signing, except_for=webhook.text) == []


async def test_a_new_key_changes_the_fingerprint(client: httpx.AsyncClient, app_name: str) -> None:
    body = every_kind()[0][1]
    first = ok(await client.put("/v1/apps/mobile/credentials/apns", json=body))
    same = ok(await client.put("/v1/apps/mobile/credentials/apns", json=body))
    other = ok(
        await client.put(
            "/v1/apps/mobile/credentials/apns", json={**body, "private_key": material.apns_p8()}
        )
    )
    assert first["fingerprints"] == same["fingerprints"] != other["fingerprints"]


async def test_delete_credentials(client: httpx.AsyncClient, app_name: str) -> None:
    hms = {"app_id": "1", "client_secret": "s"}
    ok(await client.put("/v1/apps/mobile/credentials/hms", json=hms))
    assert (await client.delete("/v1/apps/mobile/credentials/hms")).status_code == 204
    assert ok(await client.get("/v1/apps/mobile/credentials")) == []
    error = error_of(await client.delete("/v1/apps/mobile/credentials/hms"), 404, "not_found")
    assert error["details"] == {"kind": "hms"}


def invalid_cases() -> list[tuple[str, dict[str, Any], str]]:
    apns = every_kind()[0][1]
    account = material.fcm_service_account()
    return [
        ("apns", {**apns, "bundle_id": "nodots"}, "apns.bundle_id"),
        ("apns", {**apns, "private_key": "-----BEGIN PRIVATE KEY-----\nxx\n"}, "apns.private_key"),
        ("apns", {**apns, "private_key": account["private_key"]}, "apns.private_key"),
        ("apns", {**apns, "environment": "dev"}, "apns.environment"),
        ("apns", {**apns, "team_id": "short"}, "apns.team_id"),
        (
            "apns",
            {**every_kind()[1][1], "certificate_password": "wrong password"},
            "apns.certificate_password",
        ),
        ("apns", {**apns, "certificate_p12": "QUJD"}, "apns.certificate_p12"),
        (
            "fcm",
            {"service_account": {**account, "token_uri": "http://oauth.example.com/token"}},
            "fcm.service_account.token_uri",
        ),
        (
            "fcm",
            {"service_account": {**account, "private_key": material.apns_p8()}},
            "fcm.service_account.private_key",
        ),
        ("fcm", {"service_account": "{not json"}, "fcm.service_account"),
        ("webpush", {"subject": "ftp://example.com"}, "webpush.subject"),
        ("webpush", {"subject": "mailto:ops@example.com"}, "webpush.vapid_private_key"),
        ("wns", {"package_sid": "app://nope", "client_secret": "s"}, "wns.package_sid"),
        ("hms", {"app_id": "abc", "client_secret": "s"}, "hms.app_id"),
        ("hms", {"app_id": "1", "client_secret": "s", "colour": "red"}, "hms.colour"),
        ("webhook", {"url": "ftp://x.example.com", "generate_signing_secret": True}, "webhook.url"),
        (
            "webhook",
            {"url": "https://x.example.com", "signing_secret": "no"},
            "webhook.signing_secret",
        ),
        (
            "webhook",
            {
                "url": "https://x.example.com",
                "signing_secret": every_kind()[-1][1]["signing_secret"],
                "generate_signing_secret": True,
            },
            "webhook.generate_signing_secret",
        ),
        (
            "webhook",
            {"url": "https://x.example.com", "generate_signing_secret": True, "timeout_seconds": 0},
            "webhook.timeout_seconds",
        ),
    ]


async def test_invalid_fields_are_named(
    client: httpx.AsyncClient, app_name: str, bodies: Bodies
) -> None:
    for kind, body, field in invalid_cases():
        answer = await client.put(f"/v1/apps/mobile/credentials/{kind}", json=body)
        assert field_of(answer) == field, (kind, answer.text)
        assert error_of(answer, 422)["code"] == "validation_failed"
    assert ok(await client.get("/v1/apps/mobile/credentials")) == []
    # The rejected key material is never echoed back in an error.
    p8 = every_kind()[0][1]["private_key"]
    await client.put("/v1/apps/mobile/credentials/apns", json={"private_key": p8, "bundle_id": "x"})
    assert bodies.leaks(p8) == []


async def test_unknown_kinds_and_bodies(client: httpx.AsyncClient, app_name: str) -> None:
    assert field_of(await client.put("/v1/apps/mobile/credentials/email", json={})) == "kind"
    error_of(await client.put("/v1/apps/mobile/credentials/hms", json=["x"]), 422)
    error_of(await client.delete("/v1/apps/mobile/credentials/email"), 422)
