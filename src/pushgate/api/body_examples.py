"""An example of every request body in the OpenAPI document, by the body's schema name.

Swagger UI pre-fills "Try it out" with the example and ReDoc shows it beside the schema. The
set-credentials body carries one example per kind of its own (api/credential_schemas.py);
each body here is one the API accepts once its app, users and actions exist.
"""

from __future__ import annotations

from typing import Any

_APPROVAL_HANDLER = {"kind": "webhook", "url": "https://desk.example.com/approvals"}

_BOOKED: dict[str, Any] = {
    "name": "appointment.booked",
    "operation": "create",
    "record": {
        "type": "appointment",
        "id": "APT-4711",
        "fields": {"patient": "alice", "status": "confirmed"},
    },
    "actor": "reception",
    "occurred_at": "2026-03-01T08:00:00Z",
    "data": {"when": "Tomorrow 9:00", "with": "Dr. Lee"},
}

# A package as a vendor exports it from its own instance (docs/packages.md).
_REMINDERS: dict[str, Any] = {
    "format": 1,
    "name": "clinic-reminders",
    "version": "1.2.0",
    "source": {"app": "clinic", "instance": "https://push.vendor.example"},
    "description": "Appointment reminders with a confirm button",
    "placeholders": [{"name": "credentials.apns", "kind": "credentials", "provider": "apns"}],
    "items": {
        "actions": {"confirm": {"title": "Confirm", "handler": {"kind": "record"}}},
        "action_sets": {"confirming": {"actions": ["confirm"]}},
        "types": {
            "reminder": {
                "name": "Appointment reminder",
                "action_set": "confirming",
                "template": {"title": "Reminder", "body": "{{ data.event.data.when }}"},
            }
        },
        "triggers": {
            "remind": {
                "events": ["appointment.reminder_due"],
                "recipients": {"kind": "field", "path": "record.fields.patient"},
                "type": "reminder",
            }
        },
        "type_flags": {"global": {"reminder": True}},
    },
}

# A scheduling system's notifier's body, and where its parts are (docs/events.md).
_NOTIFIED: dict[str, Any] = {
    "NotificationId": "N-20260301-0001",
    "NotificationType": "AppointmentBooked",
    "Appointment": {"Id": "APT-4711", "Start": "2026-03-02T09:00:00Z", "With": "Dr. Lee"},
    "Recipients": ["alice"],
}
_MAPPING: dict[str, Any] = {
    "name": "NotificationType",
    "names": {"AppointmentBooked": "appointment.booked"},
    "record_type": "appointment",
    "record_id": "Appointment.Id",
    "fields": "Appointment",
    "recipients": "Recipients",
    "data": "Appointment",
    "idempotency_key": "NotificationId",
}

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
    "AppUpdate": {"description": "Web shop and iOS app", "relay": True},
    "OriginInput": {
        "instance_id": "0b7c6a52-4c1e-4f43-9a57-0d3f3b8f2d11",
        "instance_name": "https://push.customer.example",
        "apps": ["shop"],
        "rate_limit": {"per_second": 100, "burst": 500},
        "per_day": 1000000,
    },
    "OriginPatch": {"rate_limit": {"per_second": 200, "burst": 1000}},
    "OriginKeyInput": {"name": "customer relay key"},
    "RelayBatch": {
        "messages": [
            {
                "id": "01939c5e-7f3a-7c4e-9d1b-2a3b4c5d6e7f",
                "provider": "apns",
                "token": "5f1c0b6f2e1a4d3c9b8a7f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c4b3a2",
                "message": {"title": "Appointment booked", "body": "Tomorrow 9:00"},
                "identity": {
                    "app": "shop",
                    "notification": "01939c5e-7f3a-7c4e-9d1b-000000000001",
                    "delivery": "01939c5e-7f3a-7c4e-9d1b-2a3b4c5d6e7f",
                    "itoken": "AWhNjnAZkKbwHC0-P4pLXG1-j5oMeF2k2Hfv3Q-bV1ZQ4LrpnQKD0Ss",
                },
                "expires_at": 4102444800000,
                "created_at": 1765000000000,
            }
        ]
    },
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
    # The ids and token come from a push's identity; these stand for them (a test sends
    # real ones: tests/api/test_interactions.py).
    "InteractionsIn": {
        "app": "shop",
        "events": [
            {
                "notification": "0190a6f0-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
                "delivery": "0190a6f0-1c2e-7000-8a4b-5c6d7e8f9a0c",
                "token": "AWhNjnAZkKbwHC0-P4pLXG1-j5oMeF2k2Hfv3Q-bV1ZQ4LrpnQKD0Ss",
                "event": "opened",
                "at": "2026-05-04T09:30:12Z",
            },
            {
                "notification": "0190a6f0-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
                "delivery": "0190a6f0-1c2e-7000-8a4b-5c6d7e8f9a0c",
                "token": "AWhNjnAZkKbwHC0-P4pLXG1-j5oMeF2k2Hfv3Q-bV1ZQ4LrpnQKD0Ss",
                "event": "action",
                "action_key": "approve",
                "at": "2026-05-04T09:30:20Z",
            },
        ],
    },
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
    "UserPreferencesInput": {
        "default": "in",
        "types": {"booking": {"choice": "in", "providers_out": ["webhook"]}},
        "quiet_hours": {"start": "22:00", "end": "07:00", "urgent_passes": True},
    },
    "DevicePreferencesInput": {"enabled": True, "muted_types": ["booking"]},
    "PreviewInput": {"data": {"when": "Tomorrow 9:00", "with": "Dr. Lee"}, "locale": "de"},
    "EventInput": _BOOKED,
    "EventBatchInput": {"events": [_BOOKED, {**_BOOKED, "name": "appointment.cancelled"}]},
    "TriggerInput": {
        "key": "booked",
        "events": ["appointment.booked"],
        "record_type": "appointment",
        "operations": ["create"],
        "condition": 'event.record.fields.status == "confirmed"',
        "recipients": {"kind": "field", "path": "record.fields.patient"},
        "type": "booking",
        "throttle_minutes": 10,
    },
    "TriggerPatch": {"condition": 'event.record.fields.status in ["confirmed", "moved"]'},
    "TriggerTestInput": {"event": _BOOKED},
    "PackageInstallInput": {"app": "shop", "bundle": _REMINDERS, "dry_run": False},
    "PackageUninstallInput": {"app": "shop", "name": "clinic-reminders", "dry_run": True},
    "SourceInput": {
        "key": "scheduler",
        "kind": "datanotifier",
        "verification": {"alg": "HS256", "secret": "change-me-to-32-or-more-random-bytes"},
        "mapping": _MAPPING,
        "app": "shop",
        "rate_limit": {"per_second": 50, "burst": 200},
    },
    "SourcePatch": {"paused": True},
    "InboundBody": _NOTIFIED,
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
