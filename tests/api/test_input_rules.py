"""Input that JSON parsing lets through but nothing after it can hold is refused with 422 in
the one error shape, on SQLite and PostgreSQL alike, and listings keep working after it
(api/json_rules.py; docs/delivery.md, "Input rules")."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.expect import error_of, ok

JSON = {"content-type": "application/json"}


def _nested(depth: int) -> str:
    """JSON text of ``depth`` levels of objects: ``{"a": {"a": ... 1}}``."""
    return '{"a": ' * depth + "1" + "}" * depth


def _notification(data: str) -> bytes:
    return f'{{"app": "mobile", "audience": {{"everyone": true}}, "data": {data}}}'.encode()


def _overrides(value: str) -> bytes:
    body = '{"app": "mobile", "audience": {"everyone": true}, "title": "t", '
    return (body + f'"overrides": {{"webhook": {{"x": {value}}}}}}}').encode()


def _attributes(value: str) -> bytes:
    return f'{{"attributes": {{"x": {value}}}}}'.encode()


# (what, method, path, raw body, the field named, a word of the reason)
REFUSED = [
    (
        "big int in data",
        "POST",
        "/v1/notifications",
        _notification('{"n": 18446744073709551616}'),
        "data.n",
        "64-bit",
    ),
    (
        "2**63 in data",
        "POST",
        "/v1/notifications",
        _notification('{"n": 9223372036854775808}'),
        "data.n",
        "64-bit",
    ),
    (
        "huge int literal",
        "POST",
        "/v1/notifications",
        _notification('{"n": ' + "9" * 5000 + "}"),
        "data.n",
        "64-bit",
    ),
    (
        "big int in attributes",
        "PUT",
        "/v1/users/u",
        _attributes("-9223372036854775809"),
        "attributes.x",
        "64-bit",
    ),
    (
        "big int in overrides",
        "POST",
        "/v1/notifications",
        _overrides("[1, 99999999999999999999]"),
        "overrides.webhook.x[1]",
        "64-bit",
    ),
    ("1e400", "POST", "/v1/notifications", _notification('{"n": 1e400}'), "data.n", "too large"),
    ("NaN", "PUT", "/v1/users/u", _attributes("NaN"), "attributes.x", "NaN"),
    ("-Infinity", "PUT", "/v1/users/u", _attributes("-Infinity"), "attributes.x", "Infinity"),
    (
        "lone surrogate in data",
        "POST",
        "/v1/notifications",
        _notification('{"s": "\\ud800"}'),
        "data.s",
        "surrogate",
    ),
    (
        "lone surrogate in a name",
        "PUT",
        "/v1/users/u",
        _attributes('{"\\udfff": 1}'),
        "attributes.x",
        "surrogate",
    ),
    (
        "lone surrogate in overrides",
        "POST",
        "/v1/notifications",
        _overrides('"a\\udbffb"'),
        "overrides.webhook.x",
        "surrogate",
    ),
    (
        "surrogate as raw UTF-8",
        "PUT",
        "/v1/users/u",
        b'{"attributes": {"x": "\xed\xa0\x80"}}',
        None,
        None,
    ),
    ("NUL in a name field", "POST", "/v1/apps", b'{"name": "a\\u0000b"}', "name", "NUL"),
    (
        "NUL in data",
        "POST",
        "/v1/notifications",
        _notification('{"s": "\\u0000"}'),
        "data.s",
        "NUL",
    ),
    ("NUL in a key", "PUT", "/v1/users/u", _attributes('{"a\\u0000": 1}'), "attributes.x", "NUL"),
    (
        "NUL in a title",
        "POST",
        "/v1/notifications",
        b'{"app": "mobile", "audience": {"everyone": true}, "title": "\\u0000"}',
        "title",
        "NUL",
    ),
    (
        "NUL in a device token",
        "POST",
        "/v1/apps/mobile/devices",
        b'{"provider": "fcm", "token": "abcdefghijklmnop\\u0000"}',
        "token",
        "NUL",
    ),
    (
        "33 levels in data",
        "POST",
        "/v1/notifications",
        _notification(_nested(32)),
        "data" + ".a" * 31,
        "deeper",
    ),
    (
        "250 levels in attributes",
        "PUT",
        "/v1/users/u",
        _attributes(_nested(250)),
        "attributes.x" + ".a" * 30,
        "deeper",
    ),
    (
        "250 levels in overrides",
        "POST",
        "/v1/notifications",
        _overrides("[" * 250 + "]" * 250),
        "overrides.webhook.x" + "[0]" * 29,
        "deeper",
    ),
    (
        "100000 levels",
        "PUT",
        "/v1/users/u",
        b'{"attributes": {"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}",
        "body",
        "deeper",
    ),
    (
        "duplicate scopes",
        "POST",
        "/v1/keys",
        b'{"name": "k", "scopes": ["send"], "scopes": ["admin"]}',
        "body",
        "'scopes' more than once",
    ),
    (
        "duplicate in data",
        "POST",
        "/v1/notifications",
        _notification('{"a": 1, "a": 2}'),
        "data",
        "'a' more than once",
    ),
    (
        "duplicate in a device",
        "POST",
        "/v1/apps/mobile/devices",
        b'{"provider": "fcm", "token": "abcdefghijklmnopq", "token": "rstuvwxyz0123456"}',
        "body",
        "'token' more than once",
    ),
]


async def _listings_work(client: httpx.AsyncClient) -> None:
    for path in ("/v1/notifications", "/v1/users", "/v1/devices", "/v1/apps", "/v1/keys"):
        ok(await client.get(path))


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "reason"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
async def test_input_nothing_can_hold_is_refused(
    client: httpx.AsyncClient,
    app_name: str,
    method: str,
    path: str,
    body: bytes,
    field: str | None,
    reason: str | None,
) -> None:
    answer = await client.request(method, path, content=body, headers=JSON)
    if field is None:
        error_of(answer, 400, "malformed_json")  # not UTF-8, so not JSON text (RFC 8259 §8.1)
    else:
        error = error_of(answer, 422, "validation_failed")
        assert error["details"]["field"] == field, error
        assert reason is not None
        assert reason in error["details"]["reason"], error
    await _listings_work(client)
    keys = ok(await client.get("/v1/keys"))
    assert all(key["name"] != "k" for key in keys), keys  # nothing made by a refused request


async def test_the_bounds_themselves_are_accepted(client: httpx.AsyncClient, app_name: str) -> None:
    data = {"max": 2**63 - 1, "min": -(2**63), "f": 1.5e308, "text": "\U0001f600 ü", "deep": None}
    data["deep"] = json.loads(_nested(30))  # the body, data and 30 more: 32 levels
    sent = await client.post(
        "/v1/notifications", json={"app": "mobile", "audience": {"everyone": True}, "data": data}
    )
    ok(sent, 202)
    status = ok(await client.get(f"/v1/notifications/{sent.json()['id']}"))
    assert status["content"]["data"]["max"] == 2**63 - 1
    assert status["content"]["data"]["min"] == -(2**63)
    assert status["content"]["data"]["text"] == "\U0001f600 ü"
    await _listings_work(client)


@pytest.mark.parametrize(
    "send_at",
    [
        "9999-12-31T23:59:59+00:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "1970-01-01T00:00:00Z",
        "2300-01-01T00:00:00Z",
    ],
)
async def test_send_at_far_from_now_is_refused(
    client: httpx.AsyncClient, app_name: str, send_at: str
) -> None:
    body = {"app": "mobile", "audience": {"everyone": True}, "title": "t", "send_at": send_at}
    answer = await client.post("/v1/notifications", json=body)
    assert answer.status_code == 422, answer.text
    error = error_of(answer, 422)
    assert "send_at" in json.dumps(error), error
    await _listings_work(client)


async def test_send_at_within_a_year_is_scheduled(client: httpx.AsyncClient, app_name: str) -> None:
    from datetime import UTC, datetime, timedelta

    later = (datetime.now(UTC) + timedelta(days=300)).isoformat()
    body = {"app": "mobile", "audience": {"everyone": True}, "title": "t", "send_at": later}
    made = ok(await client.post("/v1/notifications", json=body), 202)
    assert made["state"] == "scheduled"
    [listed] = ok(await client.get("/v1/notifications"))["items"]
    assert listed["expires_at"] > listed["send_at"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/devices?after=%00",
        "/v1/devices?app=mo%00bile",
        "/v1/notifications?after=a%00b",
        "/v1/notifications?app=%00",
        "/v1/notifications/%00",
        "/v1/notifications/ab%00/deliveries",
        "/v1/devices/%00",
        "/v1/users/%00",
        "/v1/users?after=%00",
    ],
)
async def test_nul_in_the_path_or_query_is_refused(
    client: httpx.AsyncClient, app_name: str, path: str
) -> None:
    answer = await client.get(path)
    error = error_of(answer, 422, "validation_failed")
    assert "NUL" in error["message"], error
    await _listings_work(client)
