"""Fan-out: a notification's audience, page by page, into deliveries and send jobs.

Pages are read in device-id order, so the audience is never held in memory, and each
page's send jobs are queued before the next page is read: a big broadcast starts
sending while the fan-out goes on. Running a page twice (a worker died after writing
it) adds no deliveries twice: existing ones are kept, and only pending ones are queued.
A notification that records failures only gets no delivery rows: the page's count moves
once, under the page's key, and its send jobs carry the deliveries.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from pushgate.core.ids import new_ids, now_ms
from pushgate.core.notification_input import Audience
from pushgate.core.notifications import (
    AddedDeliveries,
    AudienceMember,
    DeliveryRecords,
    DeliveryState,
    NotificationState,
    Settlement,
)
from pushgate.core.ports import NotificationStorePort
from pushgate.delivery.jobs import FanoutJob, SendJob, batches, fanout_job, send_job
from pushgate.queue.base import NewJob, Queue

PENDING = DeliveryState.PENDING.value


class Fanout:
    def __init__(
        self, store: NotificationStorePort, queue: Queue, *, page_size: int, batch_size: int
    ) -> None:
        self.store = store
        self.queue = queue
        self.page_size = page_size
        self.batch_size = batch_size

    async def run(self, job: FanoutJob) -> SendJob | None:
        """Fan out one page. When the whole audience fits one send batch, that batch is
        returned instead of queued, for the caller to send at once: a small notification
        (one user's devices, say) then needs one queue hop, not two. Should the caller die
        before sending, this fan-out job runs again and finds the deliveries still pending.
        """
        notification = await self.store.notification(job.notification_id)
        if notification is None or notification.state in (
            NotificationState.CANCELED,
            NotificationState.EXPIRED,
            NotificationState.COMPLETED,
        ):
            return None
        now = now_ms()
        if notification.expires_at <= now:
            await self.store.expire(notification.id, now)
            return None
        if notification.state is NotificationState.SCHEDULED:
            await self.store.set_state(notification.id, NotificationState.SENDING, now)
        audience = Audience.model_validate(notification.audience)
        page = await self.store.audience_page(
            audience, notification.tenant_id, notification.app_id, job.after, self.page_size
        )
        page_key = f"page:{job.after or ''}"
        counted = notification.records is DeliveryRecords.FAILURES
        if counted:
            # No row per delivery: the page's pending count moves once, under the page's
            # key, and its deliveries are pending in the send jobs below alone.
            moved = Counter((member.provider, PENDING) for member in page)
            settlement = Settlement(page_key, moved)
            await self.store.settle_once(notification.id, notification.app_id, settlement, now)
            ids = new_ids(len(page))
            pending = [(i, m.provider, m.device_id) for i, m in zip(ids, page, strict=True)]
            added = AddedDeliveries(pending, True)
        else:
            targets = [(member.device_id, member.provider) for member in page]
            added = await self.store.add_deliveries(
                notification.id, notification.app_id, targets, now
            )
        members = {member.device_id: member for member in page}
        by_provider: dict[str, list[tuple[str, AudienceMember]]] = defaultdict(list)
        for delivery_id, provider, device_id in added.pending:
            by_provider[provider].append((delivery_id, members[device_id]))
        # Only deliveries made just now go out with their devices (sent without a read
        # back); those of a page run again may be in a send job already or wait for a
        # retry, so their jobs read back what is still pending and due. A counted page's
        # jobs always carry theirs, under keys that a run of the page again repeats, so
        # each batch settles once.
        sends = [
            SendJob(
                notification.id,
                tuple(d for d, _ in chunk),
                tuple(m for _, m in chunk) if added.fresh else None,
                f"{page_key}:{provider}:{n}" if counted else None,
            )
            for provider, items in by_provider.items()
            for n, chunk in enumerate(batches(items, self.batch_size))
        ]
        last_page = len(page) < self.page_size
        inline = sends.pop() if last_page and job.after is None and len(sends) == 1 else None
        jobs: list[NewJob] = [send_job(item) for item in sends]
        if not last_page:
            jobs.append(fanout_job(FanoutJob(notification.id, page[-1].device_id)))
        if jobs:
            await self.queue.enqueue(jobs)
        if last_page:
            await self.store.finish_fanout(notification.id, now)
            # The caller sends the inline batch next and asks after it; otherwise queued
            # batches may all have ended before the fan-out did, and asked too early.
            if inline is None:
                await self.store.complete_if_done(notification.id, now)
        return inline
