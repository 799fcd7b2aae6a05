"""Waiting a moment for a response's handler, so an answer can carry its result
(docs/actions.md, "Handlers").

The endpoint that takes a device's answer stores it and then waits up to
``action_answer_wait_seconds`` (5 s by default) for the handler: 200 with the result when
it finished in that time, else 202. Two ways to learn that it finished, used together:

- **in this process** (embedded mode: the worker runs beside the API), the response runner
  calls :meth:`ResponseWaiter.finished` with the settled response and the waiting request
  wakes at once with it. Once a runner in this process has said so
  (:meth:`ResponseWaiter.serve_locally`) nothing polls: the response is read once before
  the wait and once more only when the wait ends unwoken (another process may have
  settled it meanwhile);
- **in another process** (scale mode: workers apart from the API), the waiter reads the
  response back every ``poll_seconds`` (0.25 s) until the wait ends. One primary-key read
  a quarter second per waiting request, at most 20 in 5 s, costs less than a channel
  between processes (LISTEN/NOTIFY on PostgreSQL, pub/sub on Redis) that would need a
  connection held per API process and would differ between the two queue backends.
"""

from __future__ import annotations

import asyncio
import contextlib

from pushgate.core.ports import ResponseStorePort
from pushgate.core.responses import StoredResponse

POLL_SECONDS = 0.25


class ResponseWaiter:
    """Lets a request wait for a response to reach a final state, for a bounded time."""

    def __init__(self, store: ResponseStorePort, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.store = store
        self.poll_seconds: float | None = poll_seconds
        self._events: dict[str, asyncio.Event] = {}
        self._waiting: dict[str, int] = {}
        self._final: dict[str, StoredResponse] = {}

    @property
    def waiting(self) -> int:
        """How many responses are waited for now."""
        return len(self._events)

    def serve_locally(self) -> None:
        """A runner in this process settles the responses and wakes their waits: no
        read-back every ``poll_seconds`` (embedded mode)."""
        self.poll_seconds = None

    def finished(self, stored: StoredResponse) -> None:
        """The runner's note that ``stored`` reached its final state (wakes its waiters)."""
        event = self._events.get(stored.id)
        if event is not None:
            self._final[stored.id] = stored
            event.set()

    async def wait(self, response_id: str, seconds: float) -> StoredResponse | None:
        """The response once final, read from the store; None when it is still pending
        after ``seconds`` (or was never stored)."""
        event = self._events.setdefault(response_id, asyncio.Event())
        self._waiting[response_id] = self._waiting.get(response_id, 0) + 1
        try:
            async with asyncio.timeout(seconds):
                while True:
                    found = self._final.get(response_id) or await self.store.response(response_id)
                    if found is not None and found.is_final:
                        return found
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(event.wait(), self.poll_seconds)
        except TimeoutError:
            return await self._last_look(response_id)
        finally:
            self._release(response_id)

    async def _last_look(self, response_id: str) -> StoredResponse | None:
        """Without polling, one read as the wait ends: settled elsewhere after all?"""
        if self.poll_seconds is not None:
            return None
        found = await self.store.response(response_id)
        return found if found is not None and found.is_final else None

    def _release(self, response_id: str) -> None:
        left = self._waiting[response_id] - 1
        if left:
            self._waiting[response_id] = left
        else:
            del self._waiting[response_id]
            del self._events[response_id]
            self._final.pop(response_id, None)
