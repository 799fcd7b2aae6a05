"""Running one coroutine per delivery at once, with less bookkeeping than ``asyncio.gather``.

On the send path every delivery is a task; ``gather`` adds a done-callback and a result
scan per task (about a microsecond each, measured with uvloop). Here each task writes its
own result slot and the last one to finish wakes the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


async def run_concurrently(coroutines: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
    """The results of ``coroutines``, in order, all run concurrently.

    The first exception is raised once it happens, and the remaining tasks are cancelled,
    as they are when the caller is cancelled.
    """
    if not coroutines:
        return []
    loop = asyncio.get_running_loop()
    results: list[Any] = [None] * len(coroutines)
    finished: asyncio.Future[None] = loop.create_future()
    remaining = len(coroutines)

    async def run(index: int, coroutine: Coroutine[Any, Any, T]) -> None:
        nonlocal remaining
        try:
            results[index] = await coroutine
        except BaseException as exc:
            if not finished.done():
                finished.set_exception(exc)
            return
        remaining -= 1
        if not remaining and not finished.done():
            finished.set_result(None)

    tasks = [loop.create_task(run(index, coro)) for index, coro in enumerate(coroutines)]
    try:
        await finished
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
        raise
    return results
