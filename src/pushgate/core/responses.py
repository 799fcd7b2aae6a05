"""Responses as stored, what a handler's run comes to, and recording one (docs/actions.md).

A response is stored before its handler runs, together with the job that runs it, in one
transaction (docs/architecture.md §9): a crash between storing and handling leaves the
job to be leased again, never a response nobody handles. A delivery keeps at most one
answer to the actions that are taken once (whichever of them came first); an action that
allows repeats takes any number. A repeat gets the first response back, with its result,
and queues nothing new; the caller tells a repeat from another action's answer by the
first response's action.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import orjson

from pushgate.core.actions import ActionResponse, ResponseState
from pushgate.core.ports import InTransaction, ResponseStorePort
from pushgate.errors import InvalidInput

# A text input's answer, and the data a device may send with it, are bounded like a
# notification's own data (docs/delivery.md, "Input rules").
MAX_INPUT_CHARS = 2000
MAX_DATA_BYTES = 4096


@dataclass(frozen=True, slots=True)
class HandlerResult:
    """What a handler answered, as the response keeps it.

    ``status`` is the webhook's HTTP status; ``code`` and ``message`` the
    ``{"Success", "Code", "Message"}`` contract's fields; ``error`` says why a run failed
    (for the last failed run of a response still being retried too); ``output`` is what a
    python handler returned."""

    status: int | None = None
    code: str | None = None
    message: str | None = None
    error: str | None = None
    output: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "error": self.error,
            "output": self.output,
        }

    @classmethod
    def of_json(cls, stored: dict[str, Any]) -> HandlerResult:
        return cls(
            stored.get("status"),
            stored.get("code"),
            stored.get("message"),
            stored.get("error"),
            stored.get("output"),
        )


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response and where its handling stands."""

    response: ActionResponse
    app_id: str
    state: ResponseState = ResponseState.PENDING
    attempts: int = 0  # handler runs that ended (in success, failure or a retry)
    result: HandlerResult | None = None
    handled_at: int | None = None  # when it reached its final state
    next_attempt_at: int | None = None  # while a retry waits

    @property
    def id(self) -> str:
        return self.response.id

    @property
    def is_final(self) -> bool:
        return self.state is not ResponseState.PENDING

    def settled_by(self, handling: Handling) -> StoredResponse:
        """This response as the store holds it once ``handling`` is written (what
        ``ResponseStorePort.settle`` writes), without reading it back."""
        final = handling.state is not ResponseState.PENDING
        return dataclasses.replace(
            self,
            state=handling.state,
            result=handling.result,
            attempts=handling.attempts,
            handled_at=handling.at if final else None,
            next_attempt_at=None if final else handling.next_attempt_at,
        )


@dataclass(frozen=True, slots=True)
class Handling:
    """How one handler run ended, to be written to its response: its new state (PENDING
    with ``next_attempt_at`` when a retry is planned)."""

    state: ResponseState
    result: HandlerResult
    attempts: int
    at: int
    next_attempt_at: int | None = None


@dataclass(frozen=True, slots=True)
class Recorded:
    response: StoredResponse
    created: bool


class StartResponse(Protocol):
    """Queues a response's job; the delivery part's (``delivery/jobs.py``)."""

    def within(self, response_id: str) -> InTransaction:
        """The job's writes, made in the transaction that stores the response."""
        ...

    async def committed(self, response_id: str) -> None:
        """Once that transaction committed; never fails for a queue outage."""
        ...

    async def requeue(self, response_id: str) -> None:
        """Make sure the response's stored job is queued (harmless when it is)."""
        ...


def check_answer(response: ActionResponse) -> None:
    """Refuse an input or data beyond their bounds, naming the field (422)."""
    check_fields(response.input, response.data)


def check_fields(text: str | None, data: dict[str, Any]) -> None:
    """:func:`check_answer` on an answer's parts, before it is a response."""
    if text is not None and len(text) > MAX_INPUT_CHARS:
        raise InvalidInput(
            f"input: at most {MAX_INPUT_CHARS} characters",
            details={"field": "input", "reason": f"longer than {MAX_INPUT_CHARS} characters"},
        )
    try:
        size = len(orjson.dumps(data))
    except orjson.JSONEncodeError as exc:
        raise InvalidInput(
            f"data: cannot be stored as JSON: {exc}", details={"field": "data"}
        ) from exc
    if size > MAX_DATA_BYTES:
        raise InvalidInput(
            f"data: at most {MAX_DATA_BYTES} bytes as JSON",
            details={"field": "data", "reason": f"more than {MAX_DATA_BYTES} bytes"},
        )


class ResponseRecorder:
    """Stores a response with its job (the HTTP endpoint's one call, after it checked the
    token and found the action)."""

    def __init__(
        self,
        store: ResponseStorePort,
        start: StartResponse,
        clock_ms: Callable[[], int],
    ) -> None:
        self.store = store
        self.start = start
        self.clock_ms = clock_ms

    async def record(self, item: StoredResponse, *, allow_repeats: bool) -> Recorded:
        """Store ``item``; with its job when it is PENDING. One stored final (a ``record``
        handler's answer, settled as it is stored) has nothing left to run."""
        check_answer(item.response)
        within = None if item.is_final else self.start.within(item.id)
        stored, created = await self.store.record(item, allow_repeats=allow_repeats, within=within)
        if created and item.is_final:
            return Recorded(stored, created)
        if created:
            await self.start.committed(stored.id)
        elif not stored.is_final:
            # The first answer is still being handled: make sure its job is queued (the
            # answer to its request may have been lost with a queue outage).
            await self.start.requeue(stored.id)
        return Recorded(stored, created)


@dataclass(frozen=True, slots=True)
class HandlerSucceeded:
    result: HandlerResult
    kind: Literal["succeeded"] = "succeeded"


@dataclass(frozen=True, slots=True)
class HandlerRetry:
    """A failure that may pass: a timeout, a lost connection, 429, a 5xx."""

    result: HandlerResult
    retry_after: float | None = None  # seconds the handler asked for (``Retry-After``)
    kind: Literal["retry"] = "retry"


@dataclass(frozen=True, slots=True)
class HandlerFailed:
    """A failure that trying again would not mend: another 4xx, ``Success: false``, a
    refused target, an exception in a python handler."""

    result: HandlerResult
    kind: Literal["failed"] = "failed"


HandlerOutcome = HandlerSucceeded | HandlerRetry | HandlerFailed
