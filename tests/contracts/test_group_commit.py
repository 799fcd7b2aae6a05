"""GroupCommit's promises, with a recording group writer standing in for a database."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from pushgate.errors import Unavailable
from pushgate.storage.group_commit import GroupCommit


class Recorder:
    """Writes groups into ``committed``; refuses any group holding a refused item."""

    def __init__(self, refused: frozenset[int] = frozenset()) -> None:
        self.refused = refused
        self.groups: list[list[int]] = []
        self.committed: list[int] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def write(self, items: Sequence[int]) -> list[str]:
        self.groups.append(list(items))
        self.started.set()
        await self.release.wait()
        if bad := [i for i in items if i in self.refused]:
            raise ValueError(f"item {bad[0]} refused")
        self.committed.extend(items)
        return [f"done {i}" for i in items]


async def test_writes_that_arrive_together_share_one_group() -> None:
    recorder = Recorder()
    commit = GroupCommit(recorder.write)
    answers = await asyncio.gather(*(commit.submit(i) for i in range(10)))
    assert answers == [f"done {i}" for i in range(10)]
    assert recorder.groups == [list(range(10))]


async def test_writes_arriving_during_a_group_form_the_next_one() -> None:
    recorder = Recorder()
    recorder.release.clear()
    commit = GroupCommit(recorder.write)
    first = asyncio.ensure_future(asyncio.gather(*(commit.submit(i) for i in range(3))))
    await recorder.started.wait()
    later = asyncio.ensure_future(asyncio.gather(*(commit.submit(i) for i in range(3, 6))))
    await asyncio.sleep(0)
    assert not first.done()  # nobody is answered before their group is committed
    recorder.release.set()
    assert await first == ["done 0", "done 1", "done 2"]
    assert await later == ["done 3", "done 4", "done 5"]
    assert recorder.groups == [[0, 1, 2], [3, 4, 5]]


async def test_a_refused_write_fails_alone_and_its_neighbours_succeed() -> None:
    recorder = Recorder(refused=frozenset({2}))
    commit = GroupCommit(recorder.write)
    results = await asyncio.gather(*(commit.submit(i) for i in range(4)), return_exceptions=True)
    assert results[:2] == ["done 0", "done 1"]
    assert isinstance(results[2], ValueError)
    assert str(results[2]) == "item 2 refused"
    assert results[3] == "done 3"
    assert recorder.groups == [[0, 1, 2, 3], [0], [1], [2], [3]]
    assert recorder.committed == [0, 1, 3]
    assert commit.retried_alone == 4


async def test_a_group_the_database_cannot_take_fails_whole_without_retries() -> None:
    """No write of the group was at fault; trying each alone would wait out the busy
    database once per write."""
    groups: list[list[int]] = []

    async def unavailable(items: Sequence[int]) -> list[str]:
        groups.append(list(items))
        raise Unavailable("the database is busy")

    commit = GroupCommit(unavailable)
    results = await asyncio.gather(*(commit.submit(i) for i in range(4)), return_exceptions=True)
    assert all(isinstance(result, Unavailable) for result in results)
    assert groups == [[0, 1, 2, 3]]
    assert commit.retried_alone == 0


async def test_a_cancelled_submitter_leaves_the_others_answered() -> None:
    recorder = Recorder()
    recorder.release.clear()
    commit = GroupCommit(recorder.write)
    tasks = [asyncio.ensure_future(commit.submit(i)) for i in range(3)]
    await recorder.started.wait()
    tasks[1].cancel()
    recorder.release.set()
    assert await tasks[0] == "done 0"
    assert await tasks[2] == "done 2"
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]
    assert recorder.committed == [0, 1, 2]  # its write was under way and still committed


async def test_groups_are_bounded() -> None:
    recorder = Recorder()
    commit = GroupCommit(recorder.write, max_group=4)
    await asyncio.gather(*(commit.submit(i) for i in range(10)))
    assert [len(group) for group in recorder.groups] == [4, 4, 2]


async def test_a_writer_cancelled_before_it_ran_does_not_stall_later_writes() -> None:
    """Loop teardown can cancel the writer task before its first step; its cleanup never
    runs, so the next submit must start a writer that also answers the earlier write."""
    recorder = Recorder()
    commit = GroupCommit(recorder.write)
    first = asyncio.ensure_future(commit.submit(1))
    await asyncio.sleep(0)  # ``first`` is waiting and a writer task exists, not yet run
    assert commit._writer is not None
    commit._writer.cancel()
    await asyncio.sleep(0)
    second = await asyncio.wait_for(commit.submit(2), 5)
    assert second == "done 2"
    assert await asyncio.wait_for(first, 5) == "done 1"
    assert recorder.committed == [1, 2]
