"""Actions a person can take on a notification, and what runs when they answer
(docs/actions.md).

An app defines **actions** (a button: key, title, options, an optional text input, and a
handler) and **action sets** (an ordered list of actions; APNs calls them categories). A
notification names an action set, or lists action keys inline; the chosen actions are copied
into the notification's content when it is accepted (``content_actions``), so editing an
action later changes no push already accepted, and every part that renders a payload reads
the same shape.

A **response** is one answer from a device: stored before its handler runs, handled at least
once through the job queue, at most one per (delivery, action) unless the action allows
repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, assert_never

# An action's or a set's key: what a notification names and a response route carries.
ACTION_KEY_PATTERN = r"^[a-z0-9_.-]{1,64}$"
MAX_TITLE_CHARS = 64
# APNs shows at most 4 actions in a notification's expanded view; the fewest any other
# provider shows is 2 (Chrome's Notification.maxActions); docs/actions.md, "Limits per provider".
MAX_SET_ACTIONS = 4
DEFAULT_DEADLINE_SECONDS = 3600
MAX_DEADLINE_SECONDS = 7 * 24 * 3600
MIN_HANDLER_TIMEOUT_SECONDS = 1.0
MAX_HANDLER_TIMEOUT_SECONDS = 30.0
# Python handlers are found by name in this entry point group (PyPA entry points spec).
ENTRY_POINT_GROUP = "pushgate.actions"


class WebhookContract(StrEnum):
    """How a webhook handler's answer is read: any 2xx is success (``status``), or the
    body must be ``{"Success": true, "Code": …, "Message": …}`` (``success_code_message``,
    the contract scheduling systems use)."""

    STATUS = "status"
    SUCCESS_CODE_MESSAGE = "success_code_message"


@dataclass(frozen=True, slots=True)
class WebhookHandler:
    """POST the response, signed the Standard Webhooks way, to the host system."""

    url: str
    contract: WebhookContract = WebhookContract.STATUS
    timeout_seconds: float = 10.0
    kind: Literal["webhook"] = "webhook"


@dataclass(frozen=True, slots=True)
class PythonHandler:
    """Call the callable registered under ``name`` in the ``pushgate.actions`` entry point
    group with a :class:`ActionResponse`."""

    name: str
    timeout_seconds: float = 10.0
    kind: Literal["python"] = "python"


@dataclass(frozen=True, slots=True)
class RecordHandler:
    """Keep the response; run nothing."""

    kind: Literal["record"] = "record"


Handler = WebhookHandler | PythonHandler | RecordHandler
HandlerKind = Literal["webhook", "python", "record"]


def handler_fields(handler: Handler) -> dict[str, Any]:
    """A handler's fields but its kind, as stored beside the kind (JSON)."""
    match handler:
        case WebhookHandler(url=url, contract=contract, timeout_seconds=timeout):
            return {"url": url, "contract": contract.value, "timeout_seconds": timeout}
        case PythonHandler(name=name, timeout_seconds=timeout):
            return {"name": name, "timeout_seconds": timeout}
        case RecordHandler():
            return {}
        case _:
            assert_never(handler)


def handler_of(kind: str, fields: Mapping[str, Any]) -> Handler:
    """The handler :func:`handler_fields` stored under ``kind``."""
    if kind == "webhook":
        return WebhookHandler(
            str(fields["url"]),
            WebhookContract(fields["contract"]),
            float(fields["timeout_seconds"]),
        )
    if kind == "python":
        return PythonHandler(str(fields["name"]), float(fields["timeout_seconds"]))
    if kind == "record":
        return RecordHandler()
    raise ValueError(f"unknown action handler kind {kind!r}")


@dataclass(frozen=True, slots=True)
class TextInput:
    placeholder: str | None = None
    button_title: str | None = None


@dataclass(frozen=True, slots=True)
class ActionDefinition:
    """One action of an app, as stored."""

    id: str  # UUID: the id in response URLs
    app_id: str
    key: str
    title: str
    titles: dict[str, str]  # locale → title
    handler: Handler
    foreground: bool = False
    destructive: bool = False
    authentication_required: bool = False
    text_input: TextInput | None = None
    allow_repeats: bool = False
    deadline_seconds: int = 3600  # how long a handler is retried before it has failed
    created_at: int = 0
    updated_at: int = 0


@dataclass(frozen=True, slots=True)
class ActionSet:
    id: str
    app_id: str
    key: str
    action_keys: tuple[str, ...]  # in display order
    created_at: int = 0
    updated_at: int = 0


def content_actions(actions: list[ActionDefinition]) -> list[dict[str, Any]]:
    """The actions as a notification's content keeps them (``content["actions"]``): what
    rendering and the providers read. ``content["action_set"]`` holds the set's key (None
    for an inline list)."""
    return [
        {
            "id": action.id,
            "key": action.key,
            "title": action.title,
            "titles": dict(action.titles),
            "foreground": action.foreground,
            "destructive": action.destructive,
            "authentication_required": action.authentication_required,
            "input": (
                None
                if action.text_input is None
                else {
                    "placeholder": action.text_input.placeholder,
                    "button_title": action.text_input.button_title,
                }
            ),
        }
        for action in actions
    ]


class ResponseState(StrEnum):
    PENDING = "pending"  # stored, handler not yet finished
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # after its retries or past its deadline


@dataclass(frozen=True, slots=True)
class ActionResponse:
    """One answer from a device: what a handler receives. ``id`` is the dedupe key a
    handler should use: the same on every run of the same response."""

    id: str
    tenant_id: str
    app: str  # the app's name
    notification_id: str
    delivery_id: str
    device_id: str
    user_id: str | None
    action_id: str
    action_key: str
    input: str | None
    data: dict[str, Any] = field(default_factory=dict)
    received_at: int = 0  # epoch ms


@dataclass(frozen=True, slots=True)
class ActionDeletion:
    """What deleting an action came to: done, or refused while sets use it (their keys)."""

    deleted: bool
    used_by: tuple[str, ...] = ()
