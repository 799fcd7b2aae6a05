"""Hosts push to their sources: ``POST /v1/inbound/{source}`` (docs/events.md, "Inbound
sources").

No API key: the source's verification authenticates (a JWT for ``datanotifier``, a
signature for ``standard-webhooks``). ``api/inbound_endpoint.py`` answers every POST to
this path ahead of the routes, so that a datanotifier's every answer keeps its contract;
this route documents it in ``/openapi.json`` and answers the other methods (405).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel

from pushgate.errors import NotFound

PATH = "/v1/inbound"
SourceId = Annotated[str, Path(max_length=64, description="The source's `id` (its `path`).")]


class ContractOut(BaseModel):
    """What a datanotifier source answers, success or not (docs/events.md has the codes)."""

    Success: bool
    Code: int
    Message: str


_DESCRIBED = {
    "200": "`datanotifier`: stored (`Code` 0); `standard-webhooks`: a repeat of a stored "
    "`webhook-id`.",
    "202": "`standard-webhooks`: stored, `{id, created, state}`.",
    "400": "Malformed JSON, or not a DataNotifier's User-Agent.",
    "401": "The JWT or the signature does not verify, or is missing or out of its time.",
    "404": "No such source.",
    "408": "The body did not arrive in time.",
    "409": "An idempotency key repeated with another body.",
    "413": "The body is too large.",
    "422": "Unknown notification type, or the body lacks what the mapping needs.",
    "429": "The source's rate limit is spent (`Retry-After`).",
    "503": "The source is paused, or storage is unavailable (`Retry-After`).",
}
_CONTRACT = {"$ref": "#/components/schemas/ContractOut"}
# A datanotifier source answers the contract; a standard-webhooks source pushgate's own.
_SHAPES = {
    "200": {"anyOf": [_CONTRACT, {"$ref": "#/components/schemas/EventAccepted"}]},
    "202": {"$ref": "#/components/schemas/EventAccepted"},
}
_ERROR = {"anyOf": [_CONTRACT, {"$ref": "#/components/schemas/ErrorOut"}]}
_OPENAPI: dict[str, Any] = {
    "security": [],
    "parameters": [
        {
            "name": name,
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": text,
        }
        for name, text in (
            ("User-Agent", "`DataNotifier` (datanotifier sources)."),
            ("Authorization", "The JWT, bare or after `Bearer` (datanotifier sources)."),
            ("webhook-id", "Standard Webhooks: the message id, its idempotency key."),
            ("webhook-timestamp", "Standard Webhooks: seconds since the epoch."),
            ("webhook-signature", "Standard Webhooks: `v1,<base64>`, space-separated."),
        )
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "title": "InboundBody", "additionalProperties": True}
            }
        },
    },
    "responses": {
        status: {
            "description": text,
            "content": {"application/json": {"schema": _SHAPES.get(status, _ERROR)}},
        }
        for status, text in _DESCRIBED.items()
    },
}

router = APIRouter(prefix=PATH, tags=["inbound"])


@router.post("/{source}", openapi_extra=_OPENAPI, response_model=ContractOut)
async def inbound(source: SourceId) -> ContractOut:
    """A host's event to its source, verified by the source, mapped to a record event and
    stored before the answer."""
    # Served by api/inbound_endpoint.py, which every POST here meets first.
    raise NotFound(f"no source {source!r}", details={"source": source})
