"""The ``respond`` job: run a response's handler and record how it ended
(docs/actions.md, "Handlers" and "When an answer fails").

One run of the job is one run of the handler. A failure that may pass (a timeout, 429, a
5xx) is written to the response (attempts, the error, when it runs next) and the job is put
back for that time, by the backoff of ``core/response_retry.py`` and never past the
action's deadline; then, or after a failure not worth repeating, the response FAILED and
the device that answered is told (``core/action_notices.py``).

Handled at least once: a worker that dies while the handler runs leaves its job leased,
and the next worker runs the handler again with the same response id (the handler's
dedupe key, docs/architecture.md §2). A job that finds its response settled already (a
worker died after writing it) only makes sure the push that follows it went out: that
push's idempotency key is the response's, so it is never sent twice.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import assert_never

from pushgate.core.action_notices import ActionNotices
from pushgate.core.actions import ActionDefinition, ResponseState
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.ports import ActionLookup, ResponseStorePort
from pushgate.core.response_retry import HandlerBackoff
from pushgate.core.response_waiter import ResponseWaiter
from pushgate.core.responses import (
    HandlerFailed,
    HandlerOutcome,
    HandlerResult,
    HandlerRetry,
    HandlerSucceeded,
    Handling,
    StoredResponse,
)
from pushgate.delivery.action_handlers import ActionHandlers
from pushgate.delivery.jobs import RespondJob
from pushgate.delivery.operational_reports import OperationalReports
from pushgate.delivery.sender import Postpone

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Settled:
    """What one run wrote, and so what comes next."""

    handling: Handling
    retry_in: float | None = None  # seconds until the next run, while one is planned


class ResponseRunner:
    def __init__(
        self,
        store: ResponseStorePort,
        actions: ActionLookup,
        handlers: ActionHandlers,
        notices: ActionNotices,
        *,
        reports: OperationalReports,
        waiter: ResponseWaiter | None = None,
        backoff: HandlerBackoff | None = None,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.actions = actions
        self.handlers = handlers
        self.notices = notices
        self.reports = reports
        self.waiter = waiter
        if waiter is not None:
            waiter.serve_locally()
        self.backoff = backoff or HandlerBackoff()
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets

    async def close(self) -> None:
        await self.handlers.close()

    async def run(self, job: RespondJob) -> StoredResponse | None:
        """Run the handler once; the response as this run left it (None when it is gone:
        its notification was purged). Raises :class:`Postpone` when a retry is planned."""
        stored = await self.store.response(job.response_id)
        if stored is None:
            return None
        if not stored.is_final:
            action = await self.actions.action(stored.app_id, stored.response.action_id)
            settled = self._settled(stored, action, await self._outcome(stored, action))
            settled_now = await self.store.settle(stored.id, settled.handling)
            if settled.retry_in is not None:
                raise Postpone(settled.retry_in, settled.handling.result.error or "retry")
            if settled_now:
                stored = stored.settled_by(settled.handling)
            else:  # another run settled it first: its outcome stands
                found = await self.store.response(job.response_id)
                if found is None:
                    return None
                stored = found
            if settled_now and stored.state is ResponseState.FAILED:
                await self.reports.response_failed(stored)
        await self.notices.after(stored)
        if self.waiter is not None:
            self.waiter.finished(stored)
        return stored

    async def _outcome(
        self, stored: StoredResponse, action: ActionDefinition | None
    ) -> HandlerOutcome:
        if action is None:
            return HandlerFailed(HandlerResult(error="the action no longer exists"))
        if stored.attempts and self.clock.now_ms() >= _deadline(stored, action):
            # Its retry came due late (the queue was down, workers were busy): past the
            # deadline no handler runs again.
            last = stored.result or HandlerResult()
            return HandlerFailed(_past_deadline(last, action))
        return await self.handlers.run(action, stored.response)

    def _settled(
        self, stored: StoredResponse, action: ActionDefinition | None, outcome: HandlerOutcome
    ) -> Settled:
        now, attempts = self.clock.now_ms(), stored.attempts + 1
        match outcome:
            case HandlerSucceeded(result=result):
                return Settled(Handling(ResponseState.SUCCEEDED, result, attempts, now))
            case HandlerFailed(result=result):
                return Settled(Handling(ResponseState.FAILED, result, attempts, now))
            case HandlerRetry(result=result, retry_after=after):
                return self._retry(stored, action, result, after, attempts, now)
            case _:
                assert_never(outcome)

    def _retry(
        self,
        stored: StoredResponse,
        action: ActionDefinition | None,
        result: HandlerResult,
        retry_after: float | None,
        attempts: int,
        now: int,
    ) -> Settled:
        """Another run at the backoff's time, or FAILED when the deadline comes first."""
        if action is None:  # a response without an action fails at once, never retries
            raise RuntimeError("a retry planned for a response without an action")
        deadline = _deadline(stored, action)
        at = self.backoff.next_attempt_at(attempts, retry_after, now, deadline, self.rng)
        if at is None:
            failed = _past_deadline(result, action)
            return Settled(Handling(ResponseState.FAILED, failed, attempts, now))
        return Settled(
            Handling(ResponseState.PENDING, result, attempts, now, at), (at - now) / 1000
        )


def _deadline(stored: StoredResponse, action: ActionDefinition) -> int:
    return stored.response.received_at + action.deadline_seconds * 1000


def _past_deadline(last: HandlerResult, action: ActionDefinition) -> HandlerResult:
    """The last run's result, its error saying that the deadline ended the retries."""
    why = f"gave up after {action.deadline_seconds} s"
    error = f"{last.error}; {why}" if last.error else why
    return HandlerResult(last.status, last.code, last.message, error, last.output)
