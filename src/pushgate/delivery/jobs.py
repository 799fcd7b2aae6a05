"""The two job kinds the delivery workers run, and their payloads (orjson)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from pushgate.queue.base import NewJob, Queue

FANOUT = "fanout"
SEND = "send"
JOB_KINDS = (FANOUT, SEND)


@dataclass(frozen=True, slots=True)
class FanoutJob:
    """Turn the next page of a notification's audience into deliveries."""

    notification_id: str
    after: str | None = None


@dataclass(frozen=True, slots=True)
class SendJob:
    """Send these pending deliveries of one notification (one app, one provider)."""

    notification_id: str
    delivery_ids: tuple[str, ...]


def fanout_job(item: FanoutJob) -> NewJob:
    return NewJob(FANOUT, orjson.dumps({"n": item.notification_id, "after": item.after}))


def send_job(item: SendJob) -> NewJob:
    return NewJob(SEND, orjson.dumps({"n": item.notification_id, "d": list(item.delivery_ids)}))


def read_fanout(payload: bytes) -> FanoutJob:
    data = orjson.loads(payload)
    return FanoutJob(str(data["n"]), data.get("after"))


def read_send(payload: bytes) -> SendJob:
    data = orjson.loads(payload)
    return SendJob(str(data["n"]), tuple(str(i) for i in data["d"]))


def batches(ids: Sequence[str], size: int) -> list[tuple[str, ...]]:
    return [tuple(ids[start : start + size]) for start in range(0, len(ids), size)]


class FanoutStarter:
    """What the API calls once a notification is stored: queue its first fan-out page."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    async def __call__(self, notification_id: str, at: int) -> None:
        await self.queue.enqueue([fanout_job(FanoutJob(notification_id))], available_at=at)
