"""What an inbound source is made of (docs/events.md, "Inbound sources").

A source is a tagged union on ``kind``: how a host's request is verified differs per kind
(a JWT for a scheduling system's ``datanotifier``, an HMAC signature for
``standard-webhooks``), matched with ``assert_never`` where requests are verified
(core/inbound.py). The mapping that turns a verified body into a record event is the
same for both.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import Discriminator, Field, RootModel, StringConstraints, model_validator

from pushgate.core.event_inputs import EventName, RecordType
from pushgate.core.inputs import NAME_PATTERN, Strict
from pushgate.core.relay_origins import QuotaInput

SourceKey = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
# A dotted path into the host's JSON body: names of object members, or list indexes.
BODY_PATH = re.compile(r"^[A-Za-z0-9_$-]{1,64}(\.[A-Za-z0-9_$-]{1,64}){0,7}$")
BodyPath = Annotated[str, StringConstraints(pattern=BODY_PATH.pattern)]
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (32 bytes).
MIN_HS256_SECRET_BYTES = 32
# Standard Webhooks: the secret is 24 to 64 random bytes, base64 after ``whsec_``.
WHSEC = re.compile(r"^whsec_([A-Za-z0-9+/]+={0,2})$")
MAX_NAMES = 500


class Hs256Key(Strict):
    alg: Literal["HS256"] = "HS256"
    secret: Annotated[str, StringConstraints(min_length=MIN_HS256_SECRET_BYTES, max_length=512)]


class PublicKey(Strict):
    """RS256 (an RSA key of at least 2048 bits) or ES256 (an EC key on P-256), as PEM."""

    alg: Literal["RS256", "ES256"]
    public_key: Annotated[str, StringConstraints(min_length=1, max_length=8192)]

    @model_validator(mode="after")
    def _fits_the_alg(self) -> PublicKey:
        try:
            key = load_pem_public_key(self.public_key.encode())
        except (ValueError, TypeError) as exc:
            raise ValueError("public_key: not a PEM public key") from exc
        if self.alg == "RS256" and not (isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048):
            raise ValueError("public_key: RS256 needs an RSA public key of at least 2048 bits")
        if self.alg == "ES256" and not (
            isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
        ):
            raise ValueError("public_key: ES256 needs an EC public key on P-256")
        return self


JwtKey = Annotated[Hs256Key | PublicKey, Discriminator("alg")]


class WebhookSecret(Strict):
    secret: Annotated[str, StringConstraints(max_length=200)]

    @model_validator(mode="after")
    def _whsec(self) -> WebhookSecret:
        found = WHSEC.match(self.secret)
        try:
            raw = base64.b64decode(found.group(1), validate=True) if found else b""
        except binascii.Error:
            raw = b""
        if not 24 <= len(raw) <= 64:
            raise ValueError("secret: whsec_ followed by 24 to 64 bytes in base64")
        return self

    def key(self) -> bytes:
        """The HMAC key: the bytes after ``whsec_`` (checked when the source was stored)."""
        return base64.b64decode(self.secret.removeprefix("whsec_"))


class MappingInput(Strict):
    """Where the parts of a record event are in the host's JSON body."""

    name: BodyPath = Field(description="The field naming the event (the notification type).")
    names: dict[str, EventName] | None = Field(
        default=None,
        max_length=MAX_NAMES,
        description="The host's notification types and the event name each becomes; a type "
        "not listed is refused. Absent: the type is the event name.",
    )
    record_type: RecordType = Field(description="The record type of every event.")
    record_id: BodyPath = Field(description="The field holding the record's id.")
    fields: BodyPath | None = Field(
        default=None, description="The object that becomes the record's fields; absent: the body."
    )
    recipients: BodyPath | None = Field(
        default=None,
        description="The field holding the recipients (an external id or a list), put in "
        "the record's fields as `recipients` for a trigger's `record.fields.recipients`.",
    )
    actor: BodyPath | None = None
    data: BodyPath | None = Field(default=None, description="The object that becomes `data`.")
    idempotency_key: BodyPath | None = Field(
        default=None,
        description="The field whose value identifies a delivery, repeats of which are "
        "recorded once (datanotifier; Standard Webhooks use `webhook-id`).",
    )


class _SourceBase(Strict):
    key: SourceKey
    name: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    mapping: MappingInput
    app: Annotated[str, StringConstraints(pattern=NAME_PATTERN)] | None = Field(
        default=None, description="Only this app's triggers take the events; absent: every app."
    )
    paused: bool = False
    rate_limit: QuotaInput | None = Field(
        default=None, description="Requests per second this source may send; absent: unlimited."
    )


class DataNotifierSource(_SourceBase):
    """A scheduling system's push notifier: ``Authorization: <JWT>``, checked with this key."""

    kind: Literal["datanotifier"] = "datanotifier"
    verification: JwtKey


class StandardWebhooksSource(_SourceBase):
    """A host that signs by the Standard Webhooks specification."""

    kind: Literal["standard-webhooks"] = "standard-webhooks"
    verification: WebhookSecret


SourceSpec = Annotated[DataNotifierSource | StandardWebhooksSource, Discriminator("kind")]


class SourceInput(RootModel[SourceSpec]):
    """A new source; its ``kind`` says how its requests are verified."""


class SourcePatch(Strict):
    """Fields left out stay; ``verification`` is replaced whole (its kind's shape)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    mapping: MappingInput | None = None
    app: Annotated[str, StringConstraints(pattern=NAME_PATTERN)] | None = None
    paused: bool | None = None
    rate_limit: QuotaInput | None = None
    verification: dict[str, Any] | None = None
