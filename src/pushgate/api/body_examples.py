"""An example of every request body in the OpenAPI document, by the body's schema name.

Swagger UI pre-fills "Try it out" with the example and ReDoc shows it beside the schema. The
set-credentials body carries one example per kind of its own (api/credential_schemas.py);
each body here is one the API accepts once its app, users and actions exist.
"""

from __future__ import annotations

from typing import Any

_APPROVAL_HANDLER = {"kind": "webhook", "url": "https://desk.example.com/approvals"}

EXAMPLES: dict[str, dict[str, Any]] = {
    "DeviceInput": {
        "provider": "apns",
        "token": "5f1c0b6f2e1a4d3c9b8a7f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2",
        "user": "alice",
        "locale": "en-GB",
        "timezone": "Europe/London",
        "topics": ["news"],
        "app_version": "2.4.1",
    },
    "NotificationInput": {
        "app": "shop",
        "audience": {"users": ["alice"]},
        "title": "Appointment booked",
        "body": "Tomorrow 9:00",
        "data": {"booking": 4711},
        "locales": {"de": {"title": "Termin gebucht", "body": "Morgen 9:00"}},
        "deliver_at_local": "08:00",
        "ttl": 86400,
    },
    "UserInput": {"locale": "en-GB", "timezone": "Europe/London", "attributes": {"plan": "pro"}},
    "AliasInput": {"app": "shop", "alias": "customer-4711"},
    "AppInput": {"name": "shop", "description": "Web shop"},
    "AppUpdate": {"description": "Web shop and iOS app"},
    "ActionInput": {"key": "approve", "title": "Approve", "handler": _APPROVAL_HANDLER},
    "ActionPatch": {"title": "Approve now", "deadline_seconds": 3600},
    "ActionSetInput": {"key": "approval", "actions": ["approve", "reject"]},
    "ActionSetPatch": {"actions": ["approve", "reject", "later"]},
    "TenantInput": {"name": "acme"},
    "TenantPatch": {"rate_limit": {"per_second": 50, "burst": 100}},
    "KeyInput": {"name": "shop backend", "scopes": ["send"], "tenant": "acme"},
    "KeyPatch": {"rate_limit": {"per_second": 10, "burst": 20}},
    "KeyRotation": {"overlap_seconds": 3600},
    "AnswerIn": {"input": "On my way", "data": {"eta_minutes": 10}},
    "TypeInput": {
        "key": "booking",
        "name": "Booking confirmed",
        "ttl": 86400,
        "template": {
            "title": "Appointment booked",
            "body": "{{ data.when }} with {{ data.with }}",
            "locales": {"de": {"title": "Termin gebucht"}},
        },
    },
    "TypePatch": {"ttl": 3600, "providers": ["apns", "fcm"]},
    "UnitInput": {"key": "depot-7", "name": "Depot 7", "parent": None},
    "UnitPatch": {"name": "Depot 7 (Harbour)"},
    "SettingsIn": {"values": {"retention_days": 14, "types.booking.enabled": True}},
    "SettingIn": {"name": "types.booking.enabled", "value": False},
    "PreviewInput": {"data": {"when": "Tomorrow 9:00", "with": "Dr. Lee"}, "locale": "de"},
}


def body_schema_name(schema: dict[str, Any]) -> str | None:
    """The component a request body refers to (also when it may be null), or its title."""
    for member in [schema, *schema.get("anyOf", [])]:
        if "$ref" in member:
            return str(member["$ref"]).rsplit("/", 1)[1]
    title = schema.get("title")
    return str(title) if title else None


def add_body_examples(document: dict[str, Any]) -> None:
    """Give every JSON request body without an example its example from ``EXAMPLES``."""
    for operations in document["paths"].values():
        for operation in operations.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None or "example" in body or "examples" in body:
                continue
            name = body_schema_name(body.get("schema", {}))
            if name in EXAMPLES:
                body["example"] = EXAMPLES[name]
