"""The typed request body of ``PUT /v1/apps/{app}/credentials/{kind}`` in the OpenAPI document.

The route reads its body as a plain JSON object and hands it to the validator of the kind its
path names (core/credentials/kinds.py), whose errors name fields ``<kind>.<field>`` in the one
error shape. The document shows that body as a union of one schema per kind, generated from
the very input models those validators parse, so a field's rules, description and example
live in one place. The path's ``kind`` chooses the member; each member is closed
(``additionalProperties: false``) and has a field no other has, so a body matches one at most.
"""

from __future__ import annotations

from typing import Any

from pushgate.core.credentials.fcm import MAX_SERVICE_ACCOUNT_JSON
from pushgate.core.credentials.fields import pem_example
from pushgate.core.credentials.kinds import INPUT_MODELS
from pushgate.errors import ConfigError

PATH = "/v1/apps/{app}/credentials/{kind}"
REF = "#/components/schemas/{model}"
# The component each kind's schema is published as.
NAMES = {
    "apns": "ApnsCredentials",
    "fcm": "FcmCredentials",
    "webpush": "WebPushCredentials",
    "wns": "WnsCredentials",
    "hms": "HmsCredentials",
    "webhook": "WebhookCredentials",
    "relay": "RelayCredentials",
}
_KEY_P8 = pem_example("MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg")
_KEY_RSA = pem_example("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ")
# One example body per kind and way of authenticating (shortened keys: not usable ones).
EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "apns-token": (
        "apns",
        {
            "team_id": "ABCDE12345",
            "key_id": "KEY1234567",
            "private_key": _KEY_P8,
            "bundle_id": "com.example.shop",
            "environment": "production",
        },
    ),
    "apns-certificate": (
        "apns",
        {
            "certificate_p12": "MIIKYQIBAzCCCicGCSqGSIb3DQEHAaCCChgEggoU...",
            "certificate_password": "correct horse battery staple",
            "bundle_id": "com.example.shop",
            "environment": "sandbox",
        },
    ),
    "fcm": (
        "fcm",
        {
            "service_account": {
                "type": "service_account",
                "project_id": "shop-prod-4f2a1",
                "private_key_id": "8f2c7d1e0b9a4c3f2e1d0c9b8a7f6e5d4c3b2a19",
                "private_key": _KEY_RSA,
                "client_email": "pushgate@shop-prod-4f2a1.iam.gserviceaccount.com",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        },
    ),
    "webpush-generate": ("webpush", {"subject": "mailto:ops@example.com", "generate": True}),
    "wns": (
        "wns",
        {
            "package_sid": "ms-app://s-1-15-2-2972962901-2322836549-3722629029-1345238579",
            "client_secret": "Vex8L9WOFZuj95euaLrvSH7XyoDhLJc7",
        },
    ),
    "hms": (
        "hms",
        {
            "app_id": "104857612",
            "client_secret": "3b9c0e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c",
        },
    ),
    "webhook": (
        "webhook",
        {"url": "https://hooks.example.com/pushgate", "generate_signing_secret": True},
    ),
    "relay": (
        "relay",
        {
            "url": "https://push.vendor.example",
            "key": "pgk_0123456789abcdef0123456789abcdef",
            "app": "shop",
        },
    ),
    "wns-simulator": (
        "wns",
        {
            "package_sid": "ms-app://s-1-15-2-1234-5678",
            "client_secret": "simulator-secret",
            "token_url": "https://127.0.0.1:2200/accesstoken.srf",
            "base_url": "https://127.0.0.1:2200",
        },
    ),
}


def kind_schemas() -> dict[str, dict[str, Any]]:
    """Every component schema the credential bodies need, by component name."""
    components: dict[str, dict[str, Any]] = {}
    for kind, model in INPUT_MODELS.items():
        schema = model.model_json_schema(ref_template=REF, mode="validation")
        components.update(schema.pop("$defs", {}))
        schema["title"] = kind
        schema["examples"] = [body for of, body in EXAMPLES.values() if of == kind]
        components[NAMES[kind]] = schema
    _fcm_file_as_text(components["FcmCredentials"])
    _wns_client_id(components["WnsCredentials"])
    return components


def _fcm_file_as_text(schema: dict[str, Any]) -> None:
    """The service account may also come as the file's text (core/credentials/fcm.py)."""
    field = schema["properties"]["service_account"]
    as_text = {
        "type": "string",
        "maxLength": MAX_SERVICE_ACCOUNT_JSON,
        "description": "The same file's text, as one JSON string.",
    }
    schema["properties"]["service_account"] = {
        "description": field.pop("description"),
        "anyOf": [field, as_text],
        "examples": [EXAMPLES["fcm"][1]["service_account"]],
    }


def _wns_client_id(schema: dict[str, Any]) -> None:
    """The package SID may be sent as ``client_id`` instead, never as both."""
    schema["properties"]["client_id"] = {
        **schema["properties"]["package_sid"],
        "title": "Client Id",
        "description": "The package SID under the name WNS's token request gives it.",
    }
    schema["required"].remove("package_sid")
    schema["oneOf"] = [{"required": ["package_sid"]}, {"required": ["client_id"]}]


def add_credential_schemas(document: dict[str, Any]) -> None:
    """Publish the kinds' schemas and make them the set-credentials request body."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    made = kind_schemas()
    taken = sorted(set(made) & set(components))
    if taken:
        raise ConfigError(f"credential schemas clash with other schemas: {', '.join(taken)}")
    components.update(made)
    body = {
        "oneOf": [{"$ref": REF.format(model=NAMES[kind])} for kind in INPUT_MODELS],
        "description": "The credentials of the kind the path names: the member whose title "
        "is that kind. Secrets are write-only: answers show fingerprints of them.",
    }
    examples = {
        name: {"summary": f"{kind}: {name}", "value": value}
        for name, (kind, value) in EXAMPLES.items()
    }
    document["paths"][PATH]["put"]["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": body, "examples": examples}},
    }
