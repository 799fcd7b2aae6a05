"""The request rules of APNs (docs/providers.md §1.2–§1.4, §1.6) as pure checks, each raising
:class:`Rejected` with the status and reason Apple answers with."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson
from cryptography import x509
from cryptography.x509.oid import NameOID

from pushgate.simulators.tls import (
    APPLE_PRODUCTION_OID,
    APPLE_SANDBOX_OID,
    APPLE_TOPICS_OID,
    decode_topics,
)

DEVICE_PATH = "/3/device/"
PAYLOAD_LIMIT = 4096
VOIP_PAYLOAD_LIMIT = 5120
COLLAPSE_ID_LIMIT = 64

# apns-push-type → the suffix apns-topic must carry (§1.3); None: any topic (mdm).
TOPIC_SUFFIXES: dict[str, str | None] = {
    "alert": "",
    "background": "",
    "voip": ".voip",
    "complication": ".complication",
    "fileprovider": ".pushkit.fileprovider",
    "liveactivity": ".push-type.liveactivity",
    "location": ".location-query",
    "pushtotalk": ".voip-ptt",
    "widgets": ".push-type.widgets",
    "controls": ".push-type.controls",
    "mdm": None,
}
CERTIFICATE_PUSH_TYPES_EXCLUDED = frozenset({"location"})  # token auth only (§1.3)
_APNS_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_TOPIC = re.compile(r"[A-Za-z0-9.\-_]+")


class Rejected(Exception):
    """An APNs error answer: HTTP status and ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PushHeaders:
    """The validated apns-* headers of one request."""

    push_type: str
    topic: str
    bundle_id: str
    apns_id: str | None
    priority: int
    expiration: int | None
    collapse_id: str | None


def device_token(method: str, path: str) -> str:
    """The device token from ``POST /3/device/<token>``."""
    if method != "POST":
        raise Rejected(405, "MethodNotAllowed")
    if not path.startswith(DEVICE_PATH):
        raise Rejected(404, "BadPath")
    token = path[len(DEVICE_PATH) :]
    if not token:
        raise Rejected(400, "MissingDeviceToken")
    if "/" in token or "?" in token:
        raise Rejected(404, "BadPath")
    return token


def valid_apns_id(value: str | None) -> str | None:
    return value if value is not None and _APNS_ID.fullmatch(value) else None


def check_device_token_format(token: str) -> None:
    if _HEX.fullmatch(token) is None:  # hex, of no assumed length (§1.1)
        raise Rejected(400, "BadDeviceToken")


def header_map(headers: list[tuple[str, str]]) -> dict[str, str]:
    mapped = dict(headers)
    if len(mapped) != len(headers):
        raise Rejected(400, "DuplicateHeaders")
    return mapped


def push_headers(headers: dict[str, str], default_topic: str | None) -> PushHeaders:
    """Check apns-id, push type, topic, priority, expiration and collapse id (§1.2)."""
    apns_id = headers.get("apns-id")
    if apns_id is not None and _APNS_ID.fullmatch(apns_id) is None:
        raise Rejected(400, "BadMessageId")
    push_type = headers.get("apns-push-type", "alert")  # Apple's default when omitted
    if push_type not in TOPIC_SUFFIXES:
        raise Rejected(400, "InvalidPushType")
    topic = headers.get("apns-topic", default_topic)
    if topic is None:
        raise Rejected(400, "MissingTopic")
    bundle_id = _bundle_of(topic, push_type)
    priority = _priority(headers.get("apns-priority"), push_type)
    expiration = headers.get("apns-expiration")
    if expiration is not None and not expiration.isdigit():
        raise Rejected(400, "BadExpirationDate")
    collapse_id = headers.get("apns-collapse-id")
    if collapse_id is not None and len(collapse_id.encode("latin-1")) > COLLAPSE_ID_LIMIT:
        raise Rejected(400, "BadCollapseId")
    return PushHeaders(
        push_type,
        topic,
        bundle_id,
        apns_id,
        priority,
        int(expiration) if expiration is not None else None,
        collapse_id,
    )


def _bundle_of(topic: str, push_type: str) -> str:
    if _TOPIC.fullmatch(topic) is None:
        raise Rejected(400, "BadTopic")
    suffix = TOPIC_SUFFIXES[push_type]
    if suffix is None:
        return topic
    if not topic.endswith(suffix) or len(topic) == len(suffix):
        raise Rejected(400, "BadTopic")  # e.g. voip to a topic without ".voip"
    return topic[: len(topic) - len(suffix)]


def _priority(value: str | None, push_type: str) -> int:
    if value is None:
        return 5 if push_type == "background" else 10
    if value not in ("10", "5", "1"):
        raise Rejected(400, "BadPriority")
    if push_type == "background" and value != "5":
        # Background pushes must use priority 5 (§1.3); Apple's reason for breaking
        # that is undocumented (§7), BadPriority is the closest documented one.
        raise Rejected(400, "BadPriority")
    return int(value)


def payload(body: bytes, push_type: str) -> dict[str, object]:
    """The JSON payload; limits apply to the raw body bytes (§1.4)."""
    if not body:
        raise Rejected(400, "PayloadEmpty")
    limit = VOIP_PAYLOAD_LIMIT if push_type == "voip" else PAYLOAD_LIMIT
    if len(body) > limit:
        raise Rejected(413, "PayloadTooLarge")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        # Apple documents no reason for a body that is not a JSON object; BadPayload is
        # this simulator's choice (clients treat unknown 400 reasons as "fix the request").
        raise Rejected(400, "BadPayload")
    return parsed


@dataclass(frozen=True, slots=True)
class CertificateIdentity:
    """What an APNs client certificate allows: its topics and environment."""

    topics: tuple[str, ...]
    environment: str


def certificate_identity(der: bytes) -> CertificateIdentity:
    """Read bundle ID (subject UID), environment and topics from a client certificate."""
    cert = x509.load_der_x509_certificate(der)
    uids = cert.subject.get_attributes_for_oid(NameOID.USER_ID)
    if not uids:
        raise Rejected(403, "BadCertificate")
    oids = {extension.oid for extension in cert.extensions}
    if APPLE_SANDBOX_OID in oids:
        environment = "sandbox"
    elif APPLE_PRODUCTION_OID in oids:
        environment = "production"
    else:
        raise Rejected(403, "BadCertificate")
    topics = [str(uids[0].value)]
    if APPLE_TOPICS_OID in oids:
        extension = cert.extensions.get_extension_for_oid(APPLE_TOPICS_OID).value
        if not isinstance(extension, x509.UnrecognizedExtension):
            raise Rejected(403, "BadCertificate")
        try:
            topics = decode_topics(extension.value)
        except ValueError:
            raise Rejected(403, "BadCertificate") from None
    return CertificateIdentity(tuple(topics), environment)
