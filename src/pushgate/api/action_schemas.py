"""Response bodies of actions and action sets (docs/actions.md), as published in
``/openapi.json``. A handler is a union tagged by ``kind``; secrets appear only in the
answer that made them."""

from __future__ import annotations

from typing import Annotated, Literal, assert_never

from pydantic import BaseModel, Field

from pushgate.api.schemas import iso
from pushgate.core.action_catalog import SavedAction
from pushgate.core.actions import (
    ActionDefinition,
    ActionSet,
    Handler,
    PythonHandler,
    RecordHandler,
    WebhookContract,
    WebhookHandler,
)


class WebhookHandlerOut(BaseModel):
    kind: Literal["webhook"] = "webhook"
    url: str
    contract: WebhookContract
    timeout_seconds: float


class PythonHandlerOut(BaseModel):
    kind: Literal["python"] = "python"
    name: str
    timeout_seconds: float


class RecordHandlerOut(BaseModel):
    kind: Literal["record"] = "record"


HandlerOut = Annotated[
    WebhookHandlerOut | PythonHandlerOut | RecordHandlerOut, Field(discriminator="kind")
]


def handler_out(handler: Handler) -> HandlerOut:
    match handler:
        case WebhookHandler():
            return WebhookHandlerOut(
                url=handler.url, contract=handler.contract, timeout_seconds=handler.timeout_seconds
            )
        case PythonHandler():
            return PythonHandlerOut(name=handler.name, timeout_seconds=handler.timeout_seconds)
        case RecordHandler():
            return RecordHandlerOut()
        case _:
            assert_never(handler)


class TextInputOut(BaseModel):
    placeholder: str | None
    button_title: str | None


class ActionOut(BaseModel):
    id: str = Field(description="Stable id; the routes take it or the key.")
    key: str
    title: str
    titles: dict[str, str] = Field(description="The title per locale.")
    handler: HandlerOut
    foreground: bool
    destructive: bool
    authentication_required: bool
    text_input: TextInputOut | None
    allow_repeats: bool
    deadline_seconds: int
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, action: ActionDefinition) -> ActionOut:
        text_input = action.text_input
        return cls(
            id=action.id,
            key=action.key,
            title=action.title,
            titles=dict(action.titles),
            handler=handler_out(action.handler),
            foreground=action.foreground,
            destructive=action.destructive,
            authentication_required=action.authentication_required,
            text_input=None
            if text_input is None
            else TextInputOut(
                placeholder=text_input.placeholder, button_title=text_input.button_title
            ),
            allow_repeats=action.allow_repeats,
            deadline_seconds=action.deadline_seconds,
            created_at=iso(action.created_at),
            updated_at=iso(action.updated_at),
        )


class ActionSavedOut(ActionOut):
    secret: str | None = Field(
        default=None,
        description="The webhook handler's `whsec_` signing secret when this request set it "
        "(made, given or rotated). Shown only in this answer; null otherwise.",
    )

    @classmethod
    def saved(cls, made: SavedAction) -> ActionSavedOut:
        return cls(**ActionOut.of(made.action).model_dump(), secret=made.secret)


class ActionSetOut(BaseModel):
    id: str
    key: str = Field(description="Also the APNs category of the pushes that name the set.")
    actions: list[str] = Field(description="The actions' keys, in display order.")
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, item: ActionSet) -> ActionSetOut:
        return cls(
            id=item.id,
            key=item.key,
            actions=list(item.action_keys),
            created_at=iso(item.created_at),
            updated_at=iso(item.updated_at),
        )
