"""What a caller may send to define actions and action sets (docs/actions.md, "Model").

The API takes these as request bodies and the CLI builds them from its options. What needs
the instance (a handler URL judged by the outbound rules, a Python handler that must be
installed) is checked by the catalog (``core/action_catalog.py``).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from pushgate.core.actions import (
    ACTION_KEY_PATTERN,
    DEFAULT_DEADLINE_SECONDS,
    MAX_DEADLINE_SECONDS,
    MAX_HANDLER_TIMEOUT_SECONDS,
    MAX_SET_ACTIONS,
    MAX_TITLE_CHARS,
    MIN_HANDLER_TIMEOUT_SECONDS,
    PythonHandler,
    RecordHandler,
    TextInput,
    WebhookContract,
    WebhookHandler,
)
from pushgate.core.credentials.webhook import check_signing_secret
from pushgate.core.inputs import Locale, Strict


def _not_an_id(value: str) -> str:
    # The routes take an action's id or its key in one place: a key shaped like an id
    # would make that ambiguous.
    try:
        uuid.UUID(value)
    except ValueError:
        return value
    raise ValueError("must not look like a UUID (ids and keys share the action's route)")


ActionKey = Annotated[
    str, StringConstraints(pattern=ACTION_KEY_PATTERN), AfterValidator(_not_an_id)
]
Title = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TITLE_CHARS)]
Timeout = Annotated[
    float,
    Field(
        ge=MIN_HANDLER_TIMEOUT_SECONDS,
        le=MAX_HANDLER_TIMEOUT_SECONDS,
        description="Seconds one run of the handler may take.",
    ),
]
Deadline = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_DEADLINE_SECONDS,
        description="Seconds a response's handler is retried before it has failed.",
    ),
]


class WebhookHandlerInput(Strict):
    """POST each response, signed the Standard Webhooks way, to ``url``."""

    kind: Literal["webhook"]
    url: Annotated[str, StringConstraints(min_length=8, max_length=2048)]
    contract: WebhookContract = Field(
        default=WebhookContract.STATUS,
        description="`status`: any 2xx is success; `success_code_message`: the body must "
        'be {"Success": true, …}.',
    )
    timeout_seconds: Timeout = 10.0
    secret: str | None = Field(
        default=None,
        description="A `whsec_` signing secret of your own; one is generated when left out. "
        "Write-only.",
    )

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return None if value is None else check_signing_secret(value)

    def handler(self) -> WebhookHandler:
        return WebhookHandler(self.url, self.contract, self.timeout_seconds)


class PythonHandlerInput(Strict):
    """Call the function installed under ``name`` in the ``pushgate.actions`` entry points."""

    kind: Literal["python"]
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
    timeout_seconds: Timeout = 10.0

    def handler(self) -> PythonHandler:
        return PythonHandler(self.name, self.timeout_seconds)


class RecordHandlerInput(Strict):
    """Keep each response; run nothing (read them over the API)."""

    kind: Literal["record"]

    def handler(self) -> RecordHandler:
        return RecordHandler()


HandlerInput = Annotated[
    WebhookHandlerInput | PythonHandlerInput | RecordHandlerInput, Field(discriminator="kind")
]


class TextInputSpec(Strict):
    """A text field shown with the button (APNs UNTextInputNotificationAction, Android
    RemoteInput, a WNS input); the typed text comes back with the response."""

    placeholder: Annotated[str, StringConstraints(max_length=MAX_TITLE_CHARS)] | None = None
    button_title: Annotated[str, StringConstraints(max_length=MAX_TITLE_CHARS)] | None = None

    def value(self) -> TextInput:
        return TextInput(self.placeholder, self.button_title)


class ActionInput(Strict):
    """Define one action of an app."""

    key: ActionKey = Field(description="Unique in the app; what notifications name. Fixed.")
    title: Title = Field(description="The button's label.")
    titles: dict[Locale, Title] = Field(
        default_factory=dict, max_length=100, description="The label per locale."
    )
    handler: HandlerInput
    foreground: bool = Field(default=False, description="Opens the app when tapped.")
    destructive: bool = Field(default=False, description="Shown as destructive (red).")
    authentication_required: bool = Field(
        default=False, description="The device must be unlocked to answer."
    )
    text_input: TextInputSpec | None = None
    allow_repeats: bool = Field(
        default=False, description="Take more than one response per delivery and action."
    )
    deadline_seconds: Deadline = DEFAULT_DEADLINE_SECONDS


class ActionPatch(Strict):
    """A change to an action; a field left out stays as it is. The key never changes."""

    title: Title | None = None
    titles: dict[Locale, Title] | None = Field(default=None, max_length=100)
    handler: HandlerInput | None = None
    foreground: bool | None = None
    destructive: bool | None = None
    authentication_required: bool | None = None
    text_input: TextInputSpec | None = Field(default=None, description="null removes it.")
    allow_repeats: bool | None = None
    deadline_seconds: Deadline | None = None
    rotate_secret: bool = Field(
        default=False,
        description="Give the webhook handler a new signing secret, shown once in the answer.",
    )


ActionKeys = Annotated[list[ActionKey], Field(min_length=1, max_length=MAX_SET_ACTIONS)]


class ActionSetInput(Strict):
    """Define an action set: up to 4 of the app's actions, in display order. Its key is
    the APNs category a push carries."""

    key: ActionKey
    actions: ActionKeys = Field(description="The actions' keys, in display order.")


class ActionSetPatch(Strict):
    actions: ActionKeys = Field(description="The actions' keys, in display order.")
