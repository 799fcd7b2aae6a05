"""The relay wire format: a message and its identity survive the trip, the relay's stamp
wins over what the origin claims, and every outcome maps back to the one it came from."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from pushgate.core.identity import PayloadIdentity
from pushgate.core.messages import Action, Message, Priority
from pushgate.core.outcomes import OutcomeKind, auth_failed, invalid_token, rejected, retry, sent
from pushgate.core.relay_wire import (
    MAX_BATCH,
    RelayAnswer,
    RelayBatch,
    RelayMessage,
    answer_of,
    identity_to_wire,
    message_from_wire,
    message_to_wire,
    outcome_of,
    stamped_identity,
)

MESSAGE = Message(
    title="Approve?",
    body="Change 42",
    data={"change": 42, "nested": {"a": [1, 2]}},
    badge=3,
    sound="default",
    category="approval",
    thread_id="changes",
    actions=(
        Action("a1", "approve", "Approve", foreground=True),
        Action("a2", "reject", "Reject", destructive=True, has_input=True, input_placeholder="Why"),
    ),
    action_set="approval",
    priority=Priority.NORMAL,
    collapse_key="change-42",
    mutable_content=True,
    relevance_score=0.5,
    overrides={"apns": {"aps": {"interruption-level": "time-sensitive"}}},
)
IDENTITY = PayloadIdentity(
    "origin-instance", "https://origin.example", "shop", "n1", "d1", "approval", "tok", "u/"
)


def _wire_message(**changes: object) -> dict[str, object]:
    item: dict[str, object] = {
        "id": "d1",
        "provider": "apns",
        "token": "ab" * 32,
        "message": message_to_wire(MESSAGE),
        "identity": identity_to_wire(IDENTITY),
        "expires_at": 2_000,
        "created_at": 1_000,
        "priority": MESSAGE.priority.value,
        "collapse_key": MESSAGE.collapse_key,
    }
    item.update(changes)
    return item


def test_a_message_survives_the_wire() -> None:
    raw = orjson.dumps({"messages": [_wire_message()]})
    batch = RelayBatch.model_validate_json(raw)
    assert message_from_wire(batch.messages[0]) == MESSAGE


def test_the_key_decides_the_instance_the_rest_is_kept() -> None:
    claimed = _wire_message(
        identity={**identity_to_wire(IDENTITY), "instance": "someone-else", "server": "evil"}
    )
    item = RelayMessage.model_validate(claimed)
    stamped = stamped_identity(item.identity, "origin-instance", "https://origin.example")
    assert stamped == IDENTITY


@pytest.mark.parametrize(
    "outcome",
    [sent("x"), retry("slow", 7.0), invalid_token("gone", 123), rejected("too big")],
)
def test_outcomes_map_back_to_their_kind(outcome: object) -> None:
    from pushgate.core.outcomes import Outcome

    assert isinstance(outcome, Outcome)
    answer = RelayAnswer.model_validate_json(answer_of("d1", outcome).model_dump_json())
    back = outcome_of(answer)
    assert back.kind is outcome.kind
    assert back.retry_after == outcome.retry_after
    assert back.invalid_since == outcome.invalid_since


def test_a_refusal_of_the_relays_credentials_is_a_retry_for_the_origin() -> None:
    answer = answer_of("d1", auth_failed("bad key"))
    assert answer.outcome == "retry"
    assert outcome_of(answer).kind is OutcomeKind.RETRY


def test_batches_are_bounded_and_closed() -> None:
    with pytest.raises(ValidationError):
        RelayBatch.model_validate({"messages": [_wire_message()] * (MAX_BATCH + 1)})
    with pytest.raises(ValidationError):
        RelayBatch.model_validate({"messages": [_wire_message(extra=1)]})
    with pytest.raises(ValidationError):
        RelayBatch.model_validate({"messages": [_wire_message(provider="relay")]})
