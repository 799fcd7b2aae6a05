"""What an origin instance and a relay say to each other (docs/relay.md, "Wire format").

An origin sends ``POST /v1/relay/{app}/messages`` with ``{"messages": [...]}``; each
message is one delivery: the device's provider and token (and Web Push keys), pushgate's
provider-neutral :class:`~pushgate.core.messages.Message` as JSON, the delivery's payload
identity, its expiry and creation time, priority and collapse key. The relay answers
``{"answers": [...]}``, one per message in the same order: ``sent``, ``retry``
(``retry_after`` seconds), ``invalid`` (``since``, epoch ms) or ``rejected`` (``reason``).

The neutral message travels rather than a rendered provider payload: the relay renders it
with its own provider code (the same code, limits and overrides as a direct send), and the
identity is a field of its own that the relay replaces with the origin its key names,
instead of a key buried in a payload whose shape depends on the provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pushgate.core.identity import PayloadIdentity
from pushgate.core.messages import Action, Message, Priority
from pushgate.core.models import Provider
from pushgate.core.outcomes import (
    Outcome,
    OutcomeKind,
    invalid_token,
    rejected,
    retry,
    sent,
)

MAX_BATCH = 1000
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Text = Annotated[str, StringConstraints(max_length=4096)]
Short = Annotated[str, StringConstraints(max_length=256)]
AnswerKind = Literal["sent", "retry", "invalid", "rejected"]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActionWire(_Wire):
    id: Short
    key: Short
    title: Text
    foreground: bool = False
    destructive: bool = False
    authentication_required: bool = False
    has_input: bool = False
    input_placeholder: Text | None = None
    input_button_title: Text | None = None


class MessageWire(_Wire):
    """:class:`Message` without priority and collapse key (those are the envelope's)."""

    title: Text | None = None
    subtitle: Text | None = None
    body: Text | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    image: Text | None = None
    badge: int | None = Field(default=None, ge=0, le=2**31 - 1)
    sound: Short | None = None
    category: Short | None = None
    thread_id: Short | None = None
    actions: list[ActionWire] = Field(default_factory=list, max_length=10)
    action_set: Short | None = None
    content_available: bool = False
    mutable_content: bool = False
    interruption_level: Short | None = None
    relevance_score: float | None = Field(default=None, ge=0, le=1)
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)


class IdentityWire(_Wire):
    """What the origin says of the push's identity; the relay keeps all of it but the
    instance id and name, which the origin's key decides."""

    instance: Short = ""
    server: Short = ""
    app: Short
    notification: Short
    delivery: Short
    #: The origin's interaction token (docs/reports.md): devices report to the origin, which
    #: alone can verify it, so the relay passes it on unread.
    itoken: Short
    set: Short | None = None
    token: Annotated[str, StringConstraints(max_length=1024)] | None = None
    url: Annotated[str, StringConstraints(max_length=1024)] | None = None


class RelayMessage(_Wire):
    """One delivery sent through a relay."""

    id: MessageId = Field(description="The origin's delivery id: a repeat is not sent twice.")
    provider: Provider
    token: Annotated[str, StringConstraints(min_length=1, max_length=8192)]
    keys: dict[Short, Short] | None = None
    message: MessageWire
    identity: IdentityWire
    expires_at: int = Field(ge=0, description="Epoch ms; nothing is sent after it.")
    created_at: int = Field(ge=0, description="Epoch ms the notification was accepted.")
    priority: Priority = Priority.HIGH
    collapse_key: Short | None = None
    now_or_never: bool = False


class RelayBatch(_Wire):
    """The body of ``POST /v1/relay/{app}/messages``."""

    messages: list[RelayMessage] = Field(min_length=1, max_length=MAX_BATCH)


class RelayAnswer(_Wire):
    id: MessageId
    outcome: AnswerKind
    retry_after: float | None = None
    since: int | None = None
    reason: str | None = None


class RelayAnswers(_Wire):
    answers: list[RelayAnswer]


@dataclass(frozen=True, slots=True)
class Answered:
    """The batch's answers, one per message in order."""

    answers: list[RelayAnswer]


@dataclass(frozen=True, slots=True)
class Accepted:
    """Answered 202 (``Location``: ``/v1/relay/{app}/batches/{batch_id}``): the batch is
    still being sent; its answers come at its id."""

    batch_id: str
    retry_after: int


RelayResult = Answered | Accepted


def message_to_wire(message: Message) -> dict[str, Any]:
    """The neutral message as the wire carries it (priority and collapse key apart)."""
    return {
        "title": message.title,
        "subtitle": message.subtitle,
        "body": message.body,
        "data": message.data,
        "image": message.image,
        "badge": message.badge,
        "sound": message.sound,
        "category": message.category,
        "thread_id": message.thread_id,
        "actions": [_action_to_wire(action) for action in message.actions],
        "action_set": message.action_set,
        "content_available": message.content_available,
        "mutable_content": message.mutable_content,
        "interruption_level": message.interruption_level,
        "relevance_score": message.relevance_score,
        "overrides": message.overrides,
    }


def _action_to_wire(action: Action) -> dict[str, Any]:
    return {
        "id": action.id,
        "key": action.key,
        "title": action.title,
        "foreground": action.foreground,
        "destructive": action.destructive,
        "authentication_required": action.authentication_required,
        "has_input": action.has_input,
        "input_placeholder": action.input_placeholder,
        "input_button_title": action.input_button_title,
    }


def message_from_wire(item: RelayMessage) -> Message:
    wire = item.message
    return Message(
        title=wire.title,
        subtitle=wire.subtitle,
        body=wire.body,
        data=wire.data,
        image=wire.image,
        badge=wire.badge,
        sound=wire.sound,
        category=wire.category,
        thread_id=wire.thread_id,
        actions=tuple(Action(**action.model_dump()) for action in wire.actions),
        action_set=wire.action_set,
        priority=item.priority,
        collapse_key=item.collapse_key,
        content_available=wire.content_available,
        mutable_content=wire.mutable_content,
        interruption_level=wire.interruption_level,
        relevance_score=wire.relevance_score,
        overrides=wire.overrides,
    )


def identity_to_wire(identity: PayloadIdentity) -> dict[str, str]:
    return identity.fields()


def stamped_identity(wire: IdentityWire, instance_id: str, instance_name: str) -> PayloadIdentity:
    """The origin's identity with the instance id and name its key stands for: what an
    origin claims for them is overwritten, so no origin can pose as another."""
    return PayloadIdentity(
        instance_id,
        instance_name,
        wire.app,
        wire.notification,
        wire.delivery,
        wire.itoken,
        wire.set,
        wire.token,
        wire.url,
    )


def answer_of(message_id: str, outcome: Outcome) -> RelayAnswer:
    """A relay's answer for one message. A refusal of the relay's own credentials is the
    relay's problem, not the origin's: it answers ``retry``, so the origin keeps the
    delivery and its credentials are not paused for it."""
    match outcome.kind:
        case OutcomeKind.SENT:
            return RelayAnswer(id=message_id, outcome="sent")
        case OutcomeKind.RETRY:
            return RelayAnswer(
                id=message_id,
                outcome="retry",
                retry_after=outcome.retry_after,
                reason=outcome.reason or None,
            )
        case OutcomeKind.INVALID_TOKEN:
            return RelayAnswer(
                id=message_id,
                outcome="invalid",
                since=outcome.invalid_since,
                reason=outcome.reason or None,
            )
        case OutcomeKind.REJECTED:
            return RelayAnswer(id=message_id, outcome="rejected", reason=outcome.reason or None)
        case OutcomeKind.AUTH_FAILED:
            return RelayAnswer(
                id=message_id,
                outcome="retry",
                reason=f"relay credentials refused: {outcome.reason}",
            )


def outcome_of(answer: RelayAnswer) -> Outcome:
    """What the origin makes of one answer: the same outcomes a direct provider gives."""
    said = f"relay: {answer.reason}" if answer.reason else ""
    match answer.outcome:
        case "sent":
            return sent(answer.id)
        case "retry":
            return retry(said or "relay asked to retry", answer.retry_after)
        case "invalid":
            return invalid_token(said or "relay: token invalid", answer.since)
        case "rejected":
            return rejected(said or "relay rejected the message")
