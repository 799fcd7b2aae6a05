"""Group commit: concurrent writes that arrive together share one transaction.

A commit is the fixed cost of a small write (SQLite's WAL append and lock hand-over, a
PostgreSQL round trip and WAL flush), and on SQLite writers queue behind one lock. Writes
submitted while a group is being written wait and go together in the next group, so a
burst of N writes costs a few commits instead of N.

Two promises hold for every submitter: it is answered only after the transaction holding
its own write has committed, and an error belongs to the write that caused it. When a
group fails it is rolled back as a whole and each of its writes is tried again in a
transaction of its own, so a bad write fails alone and its neighbours still succeed.
A group that fails because the database is unavailable fails as a whole: no write of
it was at fault, and trying each alone would wait out the unavailability once per write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from pushgate.errors import Unavailable

Item = TypeVar("Item")
Result = TypeVar("Result")

WriteGroup = Callable[[Sequence[Item]], Awaitable[Sequence[Result]]]


class GroupCommit(Generic[Item, Result]):
    """Collects concurrent :meth:`submit` calls into groups for ``write_group``.

    ``write_group(items)`` writes all items in one transaction, commits, and returns one
    result per item in order; it raises when any of them fails.
    """

    def __init__(self, write_group: WriteGroup[Item, Result], *, max_group: int = 256) -> None:
        self._write_group = write_group
        self._max_group = max_group
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.groups = 0  # groups committed or tried, for metrics and tests
        self.retried_alone = 0  # writes tried again alone after their group failed

    async def submit(self, item: Item) -> Result:
        """Write ``item`` with whatever else is waiting; returns once it is committed."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        # A writer cancelled before its first step never ran its cleanup: start another,
        # which takes over everything still waiting.
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                # One turn of the loop lets requests that are already runnable reach
                # submit() and join this group.
                await asyncio.sleep(0)
                group = self._waiting[: self._max_group]
                del self._waiting[: self._max_group]
                await self._write(group)
        except BaseException as exc:
            # Cancelled (shutdown): nobody may wait forever for an answer.
            for _, future in self._waiting:
                _settle(future, exc)
            self._waiting.clear()
            raise
        finally:
            self._writer = None

    async def _write(self, group: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        self.groups += 1
        try:
            results = await self._write_group([item for item, _ in group])
        except Unavailable as exc:
            for _, future in group:
                _settle(future, exc)
            return
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0][1], exc)
                return
            await self._write_alone(group)
            return
        except BaseException as exc:
            for _, future in group:
                _settle(future, exc)
            raise
        if len(results) != len(group):
            broken = RuntimeError(f"{len(results)} answers for a group of {len(group)}")
            for _, future in group:
                _settle(future, broken)
            return
        for (_, future), result in zip(group, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _write_alone(self, group: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        for position, (item, future) in enumerate(group):
            self.retried_alone += 1
            try:
                (result,) = await self._write_group([item])
            except Exception as exc:
                _settle(future, exc)
            except BaseException as exc:
                for _, waiting in group[position:]:
                    _settle(waiting, exc)
                raise
            else:
                if not future.done():
                    future.set_result(result)


def _settle(future: asyncio.Future[Result], exc: BaseException) -> None:
    if future.done():
        return  # its submitter was cancelled and no longer waits
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)
