"""The worker loop: lease jobs, run them with bounded concurrency, keep house.

Any number of workers may share a queue. A job whose worker dies is leased again when
its lease runs out; a job that fails with an unexpected error is retried with backoff
and set aside (dead-lettered) after ``MAX_JOB_ATTEMPTS``. While the queue or the database
is unreachable (Redis restarting, PostgreSQL failing over, SQLite locked by another
process for longer than its wait), the worker backs off, capped and jittered, and tries
again, logging the outage once when it starts and once when it ends; it never exits for
one. A job it could not finish for an outage is leased again later, its attempt not held
against it (docs/architecture.md §9).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from dataclasses import replace

from pushgate.core.audit import AuditLog
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.event_processing import EventProcessor
from pushgate.core.event_purge import EventPurge
from pushgate.core.ports import NotificationStorePort
from pushgate.core.retention import TenantRetention
from pushgate.delivery.fanout import Fanout
from pushgate.delivery.jobs import (
    FANOUT,
    INTERACTIONS_WEBHOOK,
    JOB_KINDS,
    OPS_WEBHOOK,
    RECORD_EVENT,
    RESPOND,
    SEND,
    SendJob,
    read_fanout,
    read_interactions_webhook,
    read_ops_webhook,
    read_record_event,
    read_respond,
    read_send,
    send_job,
)
from pushgate.delivery.metrics import DeliveryMetrics
from pushgate.delivery.operational_reports import OperationalReports
from pushgate.delivery.ops_webhook import OpsWebhookSender
from pushgate.delivery.responses import ResponseRunner
from pushgate.delivery.sender import Postpone, Sender
from pushgate.outage import Backoff, OutageLog, describe, is_outage
from pushgate.queue.base import Job, PipelineQueue
from pushgate.storage.group_commit import GroupCommit

log = logging.getLogger(__name__)
MAX_JOB_ATTEMPTS = 10
HOUSEKEEPING_SECONDS = 30.0


class Worker:
    def __init__(
        self,
        queue: PipelineQueue,
        store: NotificationStorePort,
        fanout: Fanout,
        sender: Sender,
        metrics: DeliveryMetrics,
        *,
        responder: ResponseRunner,
        reports: OperationalReports,
        ops_webhook: OpsWebhookSender,
        events: EventProcessor,
        concurrency: int,
        lease_seconds: float = 60.0,
        retention: TenantRetention,
        event_purge: EventPurge,
        audit: AuditLog,
        audit_retention_ms: int,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.queue = queue
        self.store = store
        self.fanout = fanout
        self.sender = sender
        self.responder = responder
        self.reports = reports
        self.ops_webhook = ops_webhook
        self.events = events
        self.metrics = metrics
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.retention = retention
        self.event_purge = event_purge
        self.audit = audit
        self.audit_retention_ms = audit_retention_ms
        # Retry due times and housekeeping's "now" (src/pushgate/core/clock.py).
        self.clock = clock
        self._running: set[asyncio.Task[None]] = set()
        # Jobs finishing together (their answers came in the same read) are acked in one
        # call, on the SQL queue one transaction: a commit per job was a tenth of a
        # broadcast's CPU. Nothing waits for company: a lone ack goes at once.
        self._acks: GroupCommit[Job, None] = GroupCommit(self._ack_group)
        self._outage = OutageLog("queue or database (worker)", log)
        self._backoff = Backoff()

    async def run(self, stop: asyncio.Event, *, burst: bool = False) -> None:
        """Work until ``stop`` is set, then finish the jobs in hand (bounded). The queue's
        upkeep (the outbox relay and reconciler) runs beside, for as long.

        With ``burst`` the worker also returns once no job is due and none is running
        (after keeping house once): what a one-off run, or a test that wants the queue
        worked through, needs. A job delayed into the future is left for a later run.
        """
        housekeeping = None if burst else asyncio.create_task(self._housekeeping(stop))
        # The upkeep ends with this run, whatever ends it, without touching the caller's
        # ``stop`` (a burst returns while it is still clear).
        upkeep_stop = asyncio.Event()
        upkeep = asyncio.create_task(self.queue.keep(upkeep_stop))
        try:
            while not stop.is_set():
                free = self.concurrency - len(self._running)
                if free <= 0:
                    await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
                    continue
                jobs = await self._lease_or_wait(free, stop, idle=not burst)
                if jobs is None:  # the database was busy: try again
                    continue
                if jobs or not burst:
                    self._start(jobs)  # none: it waited for work (see _lease_or_wait)
                elif self._running:
                    # Nothing due now, but a running job may yet queue more (a fan-out
                    # its send jobs, a refusal its retry): look again once one ends.
                    await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
                else:
                    await self._keep_house()
                    return
        finally:
            if housekeeping is not None:
                housekeeping.cancel()
            upkeep_stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(upkeep, 10)
            if self._running:
                await asyncio.wait(self._running, timeout=self.lease_seconds)

    def _start(self, jobs: list[Job]) -> None:
        for job in jobs:
            task = asyncio.create_task(self._handle(job))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _lease_or_wait(
        self, free: int, stop: asyncio.Event, *, idle: bool
    ) -> list[Job] | None:
        """Up to ``free`` jobs; none after waiting for work (when ``idle``); None after
        waiting out an outage or a busy database."""
        try:
            jobs = await self.queue.lease(JOB_KINDS, free, self.lease_seconds)
            if not jobs and idle:
                await self._idle(stop)
        except Exception as exc:
            if is_outage(exc):
                self._outage.failed(exc)
            else:
                log.exception("taking jobs failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._backoff.next_wait())
            return None
        self._outage.succeeded()
        self._backoff.reset()
        return jobs

    async def _idle(self, stop: asyncio.Event) -> None:
        waiter = asyncio.create_task(self.queue.wait(JOB_KINDS, max_wait=1.0))
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (waiter, stopper):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _handle(self, leased: Job) -> None:
        held = [leased]  # the current lease: extending it while the job runs renews it
        try:
            await self._run_and_settle(held)
        except Exception as exc:
            if not is_outage(exc):
                log.exception("job %s (%s) could not be settled", held[0].id, held[0].kind)
                return
            # Neither acked nor put back: the job is leased again once its lease runs
            # out (delivery is at least once, docs/architecture.md §2).
            self._outage.failed(exc)
            log.info("job %s (%s) left to its lease: %s", held[0].id, held[0].kind, describe(exc))

    async def _run_and_settle(self, held: list[Job]) -> None:
        try:
            await self._with_lease_kept(held)
            await self._acks.submit(held[0])
        except Postpone as wait:
            job = held[0]
            await self.queue.retry_later(
                job, self.clock.now_ms() + int(wait.delay * 1000), wait.reason
            )
        except Exception as exc:
            if is_outage(exc):
                raise  # not the job's fault: no attempt counted, see _handle
            job = held[0]
            log.exception("job %s (%s) failed", job.id, job.kind)
            reason = f"{type(exc).__name__}: {exc}"
            if job.attempts >= MAX_JOB_ATTEMPTS:
                if await self.queue.dead_letter(job, reason):
                    await self.reports.dead_lettered(job, reason)
            else:
                delay = min(300.0, 2.0**job.attempts) * random.uniform(0.5, 1.0)  # noqa: S311
                await self.queue.retry_later(job, self.clock.now_ms() + int(delay * 1000), reason)

    async def _ack_group(self, jobs: Sequence[Job]) -> list[None]:
        await self.queue.ack(jobs)
        return [None] * len(jobs)

    async def _with_lease_kept(self, held: list[Job]) -> None:
        """Run the job, extending its lease at a third of its length while it runs, so a
        slow provider does not hand the same job to a second worker."""
        work = asyncio.ensure_future(self._run(held[0]))
        while True:
            done, _ = await asyncio.wait({work}, timeout=self.lease_seconds / 3)
            if done:
                work.result()
                return
            extended = await self.queue.extend(held[0], self.lease_seconds)
            if extended is not None:
                held[0] = extended

    async def _run(self, job: Job) -> None:
        # A job leased more than once (its worker died, or it was put back) may have
        # been partly done: the sender then reads back what is still pending.
        first_run = job.attempts == 1
        if job.kind == FANOUT:
            for batch in await self.fanout.run(read_fanout(job.payload)):
                await self._send_inline(batch, first_run)
        elif job.kind == SEND:
            await self.sender.run(read_send(job.payload), first_run=first_run)
        elif job.kind == RESPOND:
            await self.responder.run(read_respond(job.payload))
        elif job.kind == OPS_WEBHOOK:
            await self.ops_webhook.run(read_ops_webhook(job.payload), job.attempts)
        elif job.kind == INTERACTIONS_WEBHOOK:
            await self.ops_webhook.forward(read_interactions_webhook(job.payload), job.attempts)
        elif job.kind == RECORD_EVENT:
            item = read_record_event(job.payload)
            await self.events.run(item.event_id, item.trigger_id)
        else:
            raise ValueError(f"no worker runs jobs of kind {job.kind!r}")

    async def _send_inline(self, batch: SendJob, first_run: bool) -> None:
        """Send a batch the fan-out handed back. One the provider cannot take yet (paused
        credentials) is queued as a send job of its own, to be looked at again later, so
        the rest of the page still goes out now. Unsettled, a counted batch goes as it is;
        a batch of rows may have been written in part, so its job reads them back."""
        try:
            await self.sender.run(batch, first_run=first_run)
        except Postpone as wait:
            later = batch if batch.key is not None else replace(batch, members=None)
            await self.queue.enqueue(
                [send_job(later)], available_at=self.clock.now_ms() + int(wait.delay * 1000)
            )

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        """Keep house every ``HOUSEKEEPING_SECONDS`` until ``stop``."""
        while not stop.is_set():
            await self._keep_house()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HOUSEKEEPING_SECONDS)

    async def _purge(self, now: int) -> None:
        """Delete notifications past their tenant's retention window, and say so."""
        cutoff, own = await self.retention.cutoffs(now)
        purged = await self.store.purge(cutoff, own)
        if purged:
            self.metrics.purged(purged)
            log.info(
                "purged %d notifications past retention (%d tenants with their own window)",
                purged,
                len(own),
            )

    async def _purge_events(self, now: int) -> None:
        """Delete record events past retention and ended throttles, and say so."""
        purged = await self.event_purge.run(now)
        if purged.events:
            self.metrics.events_purged.inc(purged.events)
        if purged.throttles:
            self.metrics.throttles_purged.inc(purged.throttles)
        if purged.events or purged.throttles:
            log.info(
                "purged %d record events past retention (%d tenants with their own window)"
                " and %d ended trigger throttles",
                purged.events,
                purged.own_windows,
                purged.throttles,
            )

    async def _keep_house(self) -> None:
        """Expire what ran out of time, purge past retention, publish queue depth."""
        try:
            now = self.clock.now_ms()
            await self.store.expire_overdue(now)
            await self._purge(now)
            await self._purge_events(now)
            await self.audit.purge(now - self.audit_retention_ms)
            # Operational events are kept as long as the audit log (docs/operations.md).
            await self.reports.events.purge(now - self.audit_retention_ms)
            for kind, depth in (await self.queue.depth(JOB_KINDS)).items():
                for state in ("ready", "delayed", "leased", "dead"):
                    self.metrics.queue_depth.labels(kind, state).set(getattr(depth, state))
        except Exception as exc:
            # An outage is the lease loop's to report (once); this tries again later.
            if not is_outage(exc):
                log.exception("housekeeping failed")
