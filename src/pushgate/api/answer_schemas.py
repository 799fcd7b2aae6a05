"""Bodies of the answer routes and of the responses read with an API key
(docs/actions.md, "Answering a notification"), as published in ``/openapi.json``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from pushgate.api.schemas import iso
from pushgate.core.responses import StoredResponse


class AnswerIn(BaseModel):
    """What a device may send with its answer (documentation only: the route reads the
    body itself, so a body that is not this still gets its error push)."""

    token: str | None = Field(
        None, description="The push's response token, when not in `Authorization: Bearer`."
    )
    input: str | None = Field(None, max_length=2000, description="The text the person typed.")
    data: dict[str, Any] | None = Field(None, description="Anything else; at most 4096 bytes.")
    device: str | None = Field(
        None, description="The device's id; when given it must be the token's device."
    )


class AnswerOut(BaseModel):
    """A response and where its handling stands."""

    response: str = Field(description="The response's id.")
    action: str = Field(description="The answered action's key.")
    state: Literal["pending", "succeeded", "failed"]
    result: dict[str, Any] | None = Field(
        description="The handler's answer: `status`, `code`, `message`, `error`, `output`."
    )
    poll: str | None = Field(
        None, description="While pending: where to read the response again with the token."
    )

    @classmethod
    def of(cls, stored: StoredResponse, poll: str | None = None) -> AnswerOut:
        return cls(**answer_json(stored, poll))


def answer_json(stored: StoredResponse, poll: str | None = None) -> dict[str, Any]:
    """:class:`AnswerOut`'s fields, in its order (the answer route sends them as they are,
    api/answer_endpoint.py)."""
    result = stored.result
    return {
        "response": stored.id,
        "action": stored.response.action_key,
        "state": stored.state.value,
        "result": None if result is None else result.as_json(),
        "poll": poll,
    }


class ResponseOut(BaseModel):
    """One answer to a notification, as the host system reads it with an API key."""

    id: str
    notification_id: str
    delivery_id: str
    device_id: str
    user_id: str | None
    action_id: str
    action: str = Field(description="The action's key.")
    input: str | None
    data: dict[str, Any]
    state: Literal["pending", "succeeded", "failed"]
    attempts: int
    result: dict[str, Any] | None
    received_at: str | None
    handled_at: str | None

    @classmethod
    def of(cls, stored: StoredResponse) -> ResponseOut:
        response = stored.response
        return cls(
            id=stored.id,
            notification_id=response.notification_id,
            delivery_id=response.delivery_id,
            device_id=response.device_id,
            user_id=response.user_id,
            action_id=response.action_id,
            action=response.action_key,
            input=response.input,
            data=response.data,
            state=stored.state.value,
            attempts=stored.attempts,
            result=None if stored.result is None else stored.result.as_json(),
            received_at=iso(response.received_at),
            handled_at=iso(stored.handled_at),
        )
