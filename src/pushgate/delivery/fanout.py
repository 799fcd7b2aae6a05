"""Fan-out: a notification's audience, page by page, into deliveries and send jobs.

Pages are read in device-id order, so the audience is never held in memory, and each
page's send jobs are queued before the next page is read: a big broadcast starts
sending while the fan-out goes on. Running a page twice (a worker died after writing
it) adds no deliveries twice: existing ones are kept, and only pending ones are queued.
A notification that records failures only gets no delivery rows: the page's count moves
once, under the page's key, and its send jobs carry the deliveries.

A notification of a type is not sent to recipients the type is switched off for
(core/type_switches.py), nor to those whose preferences opt out of it or mute it
(core/preferences.py), checked in that order: their deliveries are written
``suppressed`` with the reason, in both record modes, in the transaction that writes (or
counts) the page's others. A page
run again keeps what its first run decided: with rows, the rows it wrote; counted, the
reasons kept with the page's devices. A notification without a type reads nothing more.

A recipient in quiet hours, or one a ``deliver_at_local`` sends to later, is deferred
(core/deferral.py): its delivery stays pending with its due time and reason, and its
batch is queued for that time, the queue's due time being the only timer; never sent
inline. One whose time is past the notification's expiry is expired at once with the
reason. A page run again keeps the times of its first run: with rows, those written on
its rows; counted, those kept with the page's devices.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import orjson

from pushgate.core.audience import parse_audience
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.deferral import (
    Deferred,
    Hold,
    TimesPort,
    ZonesPort,
    held_target,
    hold_of,
    kept_hold,
    read_hold,
    timing_of,
)
from pushgate.core.ids import new_ids
from pushgate.core.notifications import (
    AddedDeliveries,
    AudienceMember,
    DeliveryRecords,
    DeliveryResult,
    DeliveryState,
    HeldTarget,
    Notification,
    NotificationState,
    Settlement,
)
from pushgate.core.ports import NotificationStorePort
from pushgate.core.preferences import PagePreferences, PreferenceFilter
from pushgate.core.quiet_hours import QuietHours, zone_of
from pushgate.core.suppression import SuppressionReason, count_state
from pushgate.core.type_switches import SuppressionPort
from pushgate.core.typed_sends import PROVIDERS_KEY
from pushgate.delivery.jobs import FanoutJob, SendJob, batches, fanout_job, send_job
from pushgate.delivery.operational_reports import OperationalReports
from pushgate.queue.base import NewJob, Queue

PENDING = DeliveryState.PENDING.value
SUPPRESSED = DeliveryState.SUPPRESSED
EXPIRED = DeliveryState.EXPIRED


class Fanout:
    def __init__(
        self,
        store: NotificationStorePort,
        queue: Queue,
        *,
        page_size: int,
        batch_size: int,
        reports: OperationalReports,
        clock: Clock = SYSTEM_CLOCK,
        switches: SuppressionPort | None = None,
        preferences: PreferenceFilter | None = None,
        times: TimesPort | None = None,
        zones: ZonesPort | None = None,
    ) -> None:
        self.clock = clock
        # Quiet hours and default zones, and the zones of devices (core/deferral.py).
        self.times = times
        self.zones = zones
        self.switches = switches
        self.preferences = preferences
        self.reports = reports
        self.store = store
        self.queue = queue
        self.page_size = page_size
        self.batch_size = batch_size

    async def run(self, job: FanoutJob) -> list[SendJob]:
        """Fan out one page; returns batches for the caller to send at once, in this job,
        rather than queued.

        With rows, the batch of a notification whose whole audience fits one: a small
        notification (one user's devices, say) then needs one queue hop, not two. Should
        the caller die before sending, this fan-out job runs again and finds the
        deliveries still pending. Other batches go in send jobs, which run side by side.

        For a notification that records failures only, every batch of the page: a send job
        would only add a queue round trip per batch (its payload of devices written,
        leased and deleted). This job, run again, reads the page as its first run did
        (kept with the page's key), so the batches and their keys repeat, and each
        settles at most once.
        """
        notification = await self.store.notification(job.notification_id)
        if notification is None or notification.state in (
            NotificationState.CANCELED,
            NotificationState.EXPIRED,
            NotificationState.COMPLETED,
        ):
            return []
        now = self.clock.now_ms()
        if notification.expires_at <= now:
            await self.store.expire(notification.id, now)
            return []
        if notification.state is NotificationState.SCHEDULED:
            await self.store.set_state(notification.id, NotificationState.SENDING, now)
        page_key = f"page:{job.after or ''}"
        counted = notification.records is DeliveryRecords.FAILURES
        again = await self.store.settled(notification.id, page_key) if counted else None
        withheld: dict[str, SuppressionReason] = {}
        held: dict[str, Hold] = {}
        if again is not None and again.kept is not None:
            # Run again: the page as the first run read it, so its batches, and their keys,
            # hold the same devices (a device invalidated by the first run's answers, say,
            # would be left out of a fresh read and shift every batch after it), and the
            # recipients it suppressed.
            kept = orjson.loads(again.kept)
            page = await self.store.devices_again([(item[0], item[1]) for item in kept])
            withheld = {i[0]: SuppressionReason(i[2]) for i in kept if len(i) > 2 and i[2]}
            held = {i[0]: read_hold(i[3]) for i in kept if len(i) > 3 and i[3]}
        else:
            page, found = await self._page(notification, job.after)
            withheld = await self._withheld(notification, page, found)
            held = await self._held(notification, page, withheld, found, now)
        added = await self._add(notification, page, withheld, held, page_key, again is None, now)
        members = {member.device_id: member for member in page}
        by_provider: dict[str, list[tuple[str, AudienceMember]]] = defaultdict(list)
        later: dict[tuple[str, int], list[tuple[str, AudienceMember]]] = defaultdict(list)
        for delivery_id, provider, device_id in added.pending:
            # Held ones go in batches of their own, under keys of their due time, even
            # when that time has come (a page run late or again): never mixed into a
            # batch whose key a first run of the page settled.
            due = added.due.get(delivery_id)
            if due is not None:
                later[(provider, due)].append((delivery_id, members[device_id]))
            else:
                by_provider[provider].append((delivery_id, members[device_id]))
        # Only deliveries made just now go out with their devices (sent without a read
        # back), from this job; those of a page run again may be with a provider already
        # or wait for a retry, so they are queued in jobs that read back what is still
        # pending and due. A counted page's batches always carry theirs, under keys that
        # a run of the page again repeats, so each batch settles once.
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
        inline: list[SendJob] = []
        if counted:
            inline, sends = sends, []
        elif last_page and job.after is None and len(sends) == 1:
            inline = [sends.pop()]
        next_page = None if last_page else FanoutJob(notification.id, page[-1].device_id)
        await self._queue_deferred(notification, later, held, page_key, now)
        await self._queue(notification, sends, next_page, page_key, now)
        if last_page:
            await self.store.finish_fanout(notification.id, now)
            # The caller sends the inline batches next and asks after them; otherwise
            # queued batches may all have ended before the fan-out did, and asked too early.
            if not inline:
                await self.reports.complete(notification, now)
        return inline

    async def _page(
        self, notification: Notification, after: str | None
    ) -> tuple[list[AudienceMember], PagePreferences | None]:
        """The next page of the audience, and, in the same read, what its recipients
        chose, when the tenant has preferences and something reads them: a type's
        preferences, or quiet hours and zones for the deferral."""
        args = (
            parse_audience(notification.audience),
            notification.tenant_id,
            notification.app_id,
            after,
            self.page_size,
            notification.content.get(PROVIDERS_KEY),
        )
        if (
            self.preferences is not None
            and (notification.type_key is not None or self.times is not None)
            and await self.preferences.tenant_has_preferences(notification.tenant_id)
        ):
            return await self.store.audience_page_with_preferences(*args)
        return await self.store.audience_page(*args), None

    async def _withheld(
        self,
        notification: Notification,
        page: list[AudienceMember],
        found: PagePreferences | None,
    ) -> dict[str, SuppressionReason]:
        """device id → why it is not sent, for the page's recipients the notification's
        type is switched off for (one read of their units per page, when any unit sets
        the switch), then for those whose preferences keep it from them (``found``,
        read with the page's zones)."""
        type_key = notification.type_key
        if type_key is None or not page:
            return {}
        withheld: dict[str, SuppressionReason] = {}
        if self.switches is not None:
            off = await self.switches.suppressed(
                notification.tenant_id, type_key, {m.user_id for m in page}
            )
            if off:
                withheld = {m.device_id: off[m.user_id] for m in page if m.user_id in off}
        if self.preferences is not None and found is not None:
            rest = [m for m in page if m.device_id not in withheld] if withheld else page
            withheld.update(
                await self.preferences.withheld(notification.app_id, type_key, rest, found)
            )
        return withheld

    async def _held(
        self,
        notification: Notification,
        page: list[AudienceMember],
        withheld: dict[str, SuppressionReason],
        found: PagePreferences | None,
        now: int,
    ) -> dict[str, Hold]:
        """device id → when it is sent, for the page's recipients not sent now. Each has
        the quiet hours they set (``found``), else the tenant's; the devices' zones come
        with ``found``, else are read only when some recipient has quiet hours or the
        notification a local time."""
        if self.times is None or self.zones is None or not page:
            return {}
        timing = timing_of(notification)
        tenant = await self.times.of_tenant(notification.tenant_id)
        own = found.own_quiet_hours() if found is not None else {}
        if tenant.quiet is None and not own and timing.local is None:
            return {}
        members = [m for m in page if m.device_id not in withheld] if withheld else page
        if found is not None:
            zones = found.zones
        else:
            zones = await self.zones.zones_of([m.device_id for m in members])
        held: dict[str, Hold] = {}
        # Recipients of one zone and one set of quiet hours are held alike: decided once.
        decided: dict[tuple[str | None, QuietHours | None], Hold | None] = {}
        for member in members:
            hours = own.get(member.user_id, tenant.quiet) if member.user_id else tenant.quiet
            key = (zones.get(member.device_id), hours)
            if key in decided:
                hold = decided[key]
            else:
                zone = zone_of(key[0]) or tenant.zone
                hold = decided[key] = hold_of(timing, now, zone, hours)
            if hold is not None:
                held[member.device_id] = hold
        return held

    async def _add(
        self,
        notification: Notification,
        page: list[AudienceMember],
        withheld: dict[str, SuppressionReason],
        held: dict[str, Hold],
        page_key: str,
        first: bool,
        now: int,
    ) -> AddedDeliveries:
        """The page's deliveries: as rows, or, for a notification that records failures
        only, as the page's pending count, moved once under the page's key with the
        page's devices kept (the deliveries are then pending in the batches alone).
        Suppressed ones are rows in both modes, final and counted by reason; held ones
        pending with their due time, or expired."""
        sendable = [m for m in page if m.device_id not in withheld] if withheld else page
        off = (
            [(m.device_id, m.provider, r) for m in page if (r := withheld.get(m.device_id))]
            if withheld
            else []
        )
        waiting = [held_target(m, hold) for m in sendable if (hold := held.get(m.device_id))]
        if held:
            sendable = [m for m in sendable if m.device_id not in held]
        if notification.records is DeliveryRecords.ALL:
            targets = [(member.device_id, member.provider) for member in sendable]
            return await self.store.add_deliveries(
                notification.id, notification.app_id, targets, now, off, waiting
            )
        if first:
            await self._settle_page(notification, page, sendable, off, waiting, held, page_key, now)
        later = [item for item in waiting if item.due_at is not None]
        ids = new_ids(len(sendable) + len(later))
        pending = [
            (i, m.provider, m.device_id)
            for i, m in zip(ids[: len(sendable)], sendable, strict=True)
        ]
        due: dict[str, int] = {}
        for delivery_id, item in zip(ids[len(sendable) :], later, strict=True):
            pending.append((delivery_id, item.provider, item.device_id))
            due[delivery_id] = item.due_at or now
        return AddedDeliveries(pending, True, due)

    async def _settle_page(
        self,
        notification: Notification,
        page: list[AudienceMember],
        sendable: list[AudienceMember],
        off: list[tuple[str, str, SuppressionReason]],
        waiting: list[HeldTarget],
        held: dict[str, Hold],
        page_key: str,
        now: int,
    ) -> None:
        """A counted page's first run: its counts moved once, with what a run again needs
        kept (each device, why it is suppressed, when it is held till)."""
        moved = Counter((member.provider, PENDING) for member in sendable)
        failed = []
        for (device_id, provider, reason), delivery_id in zip(off, new_ids(len(off)), strict=True):
            moved[(provider, count_state(reason))] += 1
            result = DeliveryResult(delivery_id, SUPPRESSED, 0, reason=reason.value)
            failed.append((result, device_id, provider))
        for item, delivery_id in zip(waiting, new_ids(len(waiting)), strict=True):
            if item.due_at is not None:
                moved[(item.provider, PENDING)] += 1
                continue
            moved[(item.provider, EXPIRED.value)] += 1
            result = DeliveryResult(delivery_id, EXPIRED, 0, reason=item.reason)
            failed.append((result, item.device_id, item.provider))
        reasons = {device_id: reason for device_id, _, reason in off}
        kept = orjson.dumps(
            [
                (m.device_id, m.provider, reasons.get(m.device_id))
                if (hold := held.get(m.device_id)) is None
                else (m.device_id, m.provider, reasons.get(m.device_id), kept_hold(hold))
                for m in page
            ]
        )
        settlement = Settlement(page_key, moved, failed, kept=kept.decode())
        await self.store.settle_once(notification.id, notification.app_id, settlement, now)

    async def _queue_deferred(
        self,
        notification: Notification,
        later: dict[tuple[str, int], list[tuple[str, AudienceMember]]],
        held: dict[str, Hold],
        page_key: str,
        now: int,
    ) -> None:
        """Queue the batches of held deliveries, each for its time (rounded up to the next
        second, as retries are, so a job is never leased before its rows are due). A
        counted batch carries its devices, under a key a run of the page again repeats;
        a batch of rows reads back what is pending and due when it runs.

        A page run again queues them only if its first run had not (marked after the
        queueing, as the next page is, see :meth:`_queue`): two jobs for one batch, due
        at the same moment, would be leased together and both send it."""
        if not later:
            return
        queued = f"{page_key}:held"
        if await self.store.settled(notification.id, queued) is not None:
            return
        counted = notification.records is DeliveryRecords.FAILURES
        for (provider, due), items in sorted(later.items(), key=lambda item: item[0][1]):
            jobs = [
                send_job(
                    SendJob(
                        notification.id,
                        tuple(d for d, _ in chunk),
                        tuple(m for _, m in chunk) if counted else None,
                        f"{page_key}:{provider}@{due}:{n}" if counted else None,
                    )
                )
                for n, chunk in enumerate(batches(items, self.batch_size))
            ]
            await self.queue.enqueue(jobs, available_at=(due // 1000 + 1) * 1000)
        # The mark keeps how many wait till when, and why ([reason, due, count], ...): a
        # counted notification's status tells its deferred deliveries from it.
        summary = Counter(
            (hold.reason.value, hold.at) for hold in held.values() if isinstance(hold, Deferred)
        )
        kept = orjson.dumps([[reason, due, n] for (reason, due), n in sorted(summary.items())])
        mark = Settlement(queued, Counter(), kept=kept.decode())
        await self.store.settle_once(notification.id, notification.app_id, mark, now)

    async def _queue(
        self,
        notification: Notification,
        sends: list[SendJob],
        next_page: FanoutJob | None,
        page_key: str,
        now: int,
    ) -> None:
        """Queue the page's send jobs and the next page's fan-out.

        A page run again (its worker died while it sent its batches) queues the next page
        only if its first run had not: a second job for it would walk the rest of the
        audience again, its batches racing the first walk's, sent twice when both find
        them pending (or unsettled) before either writes. The mark is made after the
        queueing, so a worker dying between the two can only queue it twice, never lose
        it."""
        jobs: list[NewJob] = [send_job(item) for item in sends]
        queued_next = f"{page_key}:next"
        if next_page is not None and await self.store.settled(notification.id, queued_next) is None:
            jobs.append(fanout_job(next_page))
        if jobs:
            await self.queue.enqueue(jobs)
        if next_page is not None:
            no_counts = Settlement(queued_next, Counter())
            await self.store.settle_once(notification.id, notification.app_id, no_counts, now)
