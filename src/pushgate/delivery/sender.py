"""Sending one batch: render, call the provider, write each outcome back.

Outcome rules (docs/architecture.md §5): ``sent`` is final; ``invalid_token`` fails the
delivery and invalidates the device at once; ``rejected`` fails it; ``retry`` plans the
next attempt with the retry policy (never past the notification's expiry or the
retention window) or expires it; ``auth_failed`` pauses the app's credentials and puts the
whole batch back untouched. Paused credentials probe on their own: a batch that finds them
paused sends its first delivery alone when its turn comes (``delivery/probes.py``), and an
answer other than a refusal resumes them and sends the rest.
A delivery that raises while it is rendered, prepared or sent fails alone, its error as the
reason; the rest of its batch is sent once and the job ends normally.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence

import orjson

from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.identity import BatchIdentity, Identities
from pushgate.core.messages import Message
from pushgate.core.notifications import (
    AudienceMember,
    DeliveryResult,
    DeliveryState,
    DeviceAddress,
    DueDelivery,
    Notification,
    NotificationState,
    Settlement,
)
from pushgate.core.outcomes import Outcome, OutcomeKind
from pushgate.core.ports import NotificationStorePort
from pushgate.core.rendering import render_for
from pushgate.core.retention import TenantRetention
from pushgate.core.retry import RetryPolicy
from pushgate.delivery.jobs import SEND, SendJob, send_job
from pushgate.delivery.metrics import DeliveryMetrics
from pushgate.delivery.operational_reports import OperationalReports
from pushgate.delivery.personalize import Personalizer
from pushgate.delivery.probes import ProbeGate
from pushgate.delivery.providers import ProviderCache
from pushgate.delivery.retry_warnings import RetryWarnings, retry_label
from pushgate.providers.base import Delivery, Provider
from pushgate.providers.sending import failure_outcome, unexpected_failure
from pushgate.queue.base import NewJob, Queue

log = logging.getLogger(__name__)
PAUSED_RECHECK_SECONDS = 30.0
# Answers that say the provider took the credentials (it judged the message or the token).
_CREDENTIALS_ACCEPTED = frozenset(
    {OutcomeKind.SENT, OutcomeKind.INVALID_TOKEN, OutcomeKind.REJECTED}
)


class Postpone(Exception):
    """Put the job back untouched and look again after ``delay`` seconds."""

    def __init__(self, delay: float, reason: str) -> None:
        super().__init__(reason)
        self.delay = delay
        self.reason = reason


class Sender:
    def __init__(
        self,
        store: NotificationStorePort,
        providers: ProviderCache,
        queue: Queue,
        metrics: DeliveryMetrics,
        *,
        policy: RetryPolicy,
        retention: TenantRetention,
        paused_recheck_seconds: float = PAUSED_RECHECK_SECONDS,
        clock: Clock = SYSTEM_CLOCK,
        reports: OperationalReports,
        probes: ProbeGate | None = None,
        identities: Identities | None = None,
        personalizer: Personalizer | None = None,
    ) -> None:
        self.store = store
        self.providers = providers
        self.queue = queue
        self.metrics = metrics
        self.policy = policy
        # Each tenant's retention window: retries are planned until it ends.
        self.retention = retention
        self.paused_recheck_seconds = paused_recheck_seconds
        # Expiry and retry times are read from it (src/pushgate/core/clock.py).
        self.clock = clock
        self.probes = probes or ProbeGate(paused_recheck_seconds)
        self.retry_warnings = RetryWarnings(clock)
        # Pauses, resumes and completions tell their operational events through it.
        self.reports = reports
        # What each payload says of its origin (core/identity.py); None sends none.
        self.identities = identities
        # Renders templates that read their recipient (delivery/personalize.py).
        self.personalizer = personalizer

    async def run(self, job: SendJob, *, first_run: bool = False) -> None:
        """Send the job's batch. On the first run of a fan-out's job, the devices it carries
        are sent to as they are (read a moment ago, the deliveries just made); any other
        run reads back which deliveries are still pending and due, and skips devices that
        were deleted or stopped being active meanwhile."""
        notification = await self.store.notification(job.notification_id)
        if notification is None or notification.state is NotificationState.CANCELED:
            return
        if job.key is not None:
            if await self._run_counted(notification, job, job.key) == 0:
                await self.reports.complete(notification, self.clock.now_ms())
            return
        gone: list[tuple[str, str, int, str]] = []
        if first_run and job.members is not None:
            due = _fresh(job.delivery_ids, job.members)
        else:
            due, gone = await self.store.due_deliveries(job.delivery_ids, self.clock.now_ms())
        left: int | None = None  # pending deliveries of the notification after this job
        if gone:
            # Devices deleted or no longer active since the fan-out get nothing more.
            failed = [DeliveryResult(i, DeliveryState.FAILED, n, reason=r) for i, _, n, r in gone]
            left = await self.store.write_results(
                notification.id, gone[0][1], failed, self.clock.now_ms()
            )
        if due:
            left = await self._send(notification, due, job)
        # The last batch to finish sees nothing left; the others skip the check.
        if left is None or left == 0:
            await self.reports.complete(notification, self.clock.now_ms())

    async def _run_counted(self, notification: Notification, job: SendJob, key: str) -> int | None:
        """A batch of a notification that records failures only: its deliveries are
        pending in it alone, and it settles once under its key. Returns the pending
        deliveries left after it (None when the notification expired instead)."""
        found = await self.store.settled(notification.id, key)
        if found is not None:
            # It ran before, and its worker died before the ack: nothing to send, but its
            # retry, kept with the settlement, may not have been queued.
            if found.kept is not None:
                await self._queue_retry(found.kept)
            return await self.store.pending_left(notification.id)
        due = _fresh(job.delivery_ids, job.members or (), job.attempts)
        # A device deleted since the page was read (the page read again after a crash
        # keeps its place, with no token) fails, unsent.
        deleted = [item for item in due if not item.device.token]
        if not deleted:
            return await self._send(notification, due, job)
        due = [item for item in due if item.device.token]
        if due:
            return await self._send(notification, due, job, deleted)
        kind = deleted[0].provider
        return await self._write(
            notification, kind, [], [], key, self.clock.now_ms(), deleted=deleted
        )

    async def _send(
        self,
        notification: Notification,
        due: Sequence[DueDelivery],
        job: SendJob,
        deleted: Sequence[DueDelivery] = (),
    ) -> int | None:
        """Send the batch; returns the notification's pending deliveries after it (None
        when it expired instead)."""
        now = self.clock.now_ms()
        if notification.expires_at <= now:
            await self.store.expire(notification.id, now)
            return None
        kind = due[0].provider
        provider, paused = await self.providers.get(
            notification.tenant_id, notification.app_id, kind
        )
        if provider is None:
            reason = f"the app has no {kind} credentials"
            results = [
                DeliveryResult(item.id, DeliveryState.FAILED, item.attempts, reason=reason)
                for item in due
            ]
            left = await self._write(notification, kind, due, results, job.key, now, deleted)
            self.metrics.outcomes(notification.tenant_id, kind, "rejected", len(results))
            return left
        if paused is not None:
            wait = self.probes.claim((notification.app_id, kind))
            if wait > 0:
                delay = min(wait, self.paused_recheck_seconds)
                raise Postpone(delay, f"{kind} credentials paused: {paused}")
            return await self._probe(notification, kind, provider, due, job, deleted)
        prepared = await self._prepare(notification, due)
        with self.metrics.timing(kind):
            outcomes = await self._outcomes(provider, prepared)
        return await self._apply(notification, kind, due, outcomes, job, deleted)

    async def _probe(
        self,
        notification: Notification,
        kind: str,
        provider: Provider,
        due: Sequence[DueDelivery],
        job: SendJob,
        deleted: Sequence[DueDelivery],
    ) -> int:
        """Send the first delivery alone on paused credentials; resume them and send the
        rest when the provider takes it, else put the batch back for the next turn."""
        key = (notification.app_id, kind)
        prepared = await self._prepare(notification, due)
        try:
            with self.metrics.timing(kind):
                first = await self._outcomes(provider, prepared[:1])
        except BaseException:
            self.probes.abandoned(key)
            raise
        # Only an answer of the provider is a verdict on the credentials: a delivery that
        # failed before it was sent (it could not be rendered) says nothing of them.
        answered = isinstance(prepared[0], Delivery)
        if not answered or first[0].kind not in _CREDENTIALS_ACCEPTED:
            # Refused again, or no verdict (a retry): the next probe waits longer.
            wait = self.probes.refused(key)
            raise Postpone(wait, f"{kind} credentials still paused: {first[0].reason}")
        self.probes.accepted(key)
        held = self.providers.held_by(notification.app_id, kind)
        if await self.reports.resume(notification, held):
            self.metrics.resumed(held)
        rest = await self._outcomes(provider, prepared[1:])
        return await self._apply(notification, kind, due, [*first, *rest], job, deleted)

    async def _prepare(
        self, notification: Notification, due: Sequence[DueDelivery]
    ) -> list[Delivery | Outcome]:
        personal = None
        if self.personalizer is not None:
            personal = await self.personalizer.messages(notification, due)
        return self._deliveries(notification, due, await self._identity(notification), personal)

    async def _identity(self, notification: Notification) -> BatchIdentity | None:
        if self.identities is None:
            return None
        return await self.identities.for_batch(
            notification.id,
            notification.app_id,
            notification.content,
            notification.expires_at,
            notification.created_at,
        )

    def _deliveries(
        self,
        notification: Notification,
        due: Sequence[DueDelivery],
        identity: BatchIdentity | None = None,
        personal: dict[str, Message | Outcome] | None = None,
    ) -> list[Delivery | Outcome]:
        """The batch to send, or the outcome of a delivery that cannot be rendered.
        Recipients with the same locales share one rendered message (rendering reads
        nothing else of them), so a provider builds each payload once per batch rather than
        once per device; each delivery's own identity is added to it (core/identity.py).
        ``personal`` holds each delivery's own message when a template reads its recipient."""
        messages: dict[tuple[str | None, str | None], Message | Outcome] = {}
        batch: list[Delivery | Outcome] = []
        content, expires_at = notification.content, notification.expires_at
        created_at, now_or_never = notification.created_at, notification.now_or_never
        for item in due:
            locales = (item.device.locale, item.user_locale)
            message = messages.get(locales) if personal is None else personal[item.id]
            if message is None:
                try:
                    message = render_for(content, *locales)
                except Exception as exc:
                    message = unexpected_failure(exc, item.id)
                messages[locales] = message
            if isinstance(message, Outcome):
                batch.append(message)
                continue
            try:
                own = identity.of(item.id, item.device.id) if identity is not None else None
            except Exception as exc:
                batch.append(unexpected_failure(exc, item.id))
                continue
            batch.append(
                Delivery(item.id, item.device, message, expires_at, created_at, now_or_never, own)
            )
        return batch

    async def _outcomes(
        self, provider: Provider, prepared: Sequence[Delivery | Outcome]
    ) -> list[Outcome]:
        """One outcome per delivery, in order. A provider answers each delivery's own
        failure as its outcome; should ``send`` itself raise, the deliveries it was given
        fail with the error as their reason, and the job ends normally: run again, it would
        send twice whatever went out before the error (docs/architecture.md §5)."""
        batch = [item for item in prepared if isinstance(item, Delivery)]
        answered: Iterator[Outcome]
        try:
            answered = iter(await provider.send(batch) if batch else ())
        except Exception as exc:
            log.error("%s batch of %d failed", provider.kind, len(batch), exc_info=exc)
            answered = itertools.repeat(failure_outcome(exc))
        return [item if isinstance(item, Outcome) else next(answered) for item in prepared]

    async def _apply(
        self,
        notification: Notification,
        kind: str,
        due: Sequence[DueDelivery],
        outcomes: Sequence[Outcome],
        job: SendJob,
        deleted: Sequence[DueDelivery],
    ) -> int:
        now = self.clock.now_ms()
        window = await self.retention.window_ms(notification.tenant_id)
        deadline = min(notification.expires_at, notification.created_at + window)
        if notification.now_or_never:
            deadline = now  # one attempt: what would be retried expires (docs/architecture.md §5)
        results: list[DeliveryResult] = []
        dead: list[tuple[str, str, int]] = []
        later: dict[int, list[str]] = defaultdict(list)
        refused: Outcome | None = None
        counts: Counter[OutcomeKind] = Counter()
        retried: Counter[tuple[str, str]] = Counter()  # by (label, reason)
        for item, outcome in zip(due, outcomes, strict=True):
            counts[outcome.kind] += 1
            attempt = item.attempts + 1
            if outcome.kind is OutcomeKind.SENT:
                results.append(
                    DeliveryResult(
                        item.id,
                        DeliveryState.SENT,
                        attempt,
                        status=outcome.status,
                        provider_message_id=outcome.provider_message_id,
                    )
                )
            elif outcome.kind is OutcomeKind.AUTH_FAILED:
                refused = outcome
            elif outcome.kind is OutcomeKind.INVALID_TOKEN:
                results.append(_final(item, DeliveryState.INVALID, attempt, outcome))
                dead.append((item.device.id, outcome.reason, outcome.invalid_since or now))
            elif outcome.kind is OutcomeKind.REJECTED:
                results.append(_final(item, DeliveryState.FAILED, attempt, outcome))
            else:
                at = self.policy.next_attempt_at(attempt, outcome, now, deadline)
                if at is None:
                    results.append(_final(item, DeliveryState.EXPIRED, attempt, outcome))
                else:
                    results.append(
                        DeliveryResult(
                            item.id,
                            DeliveryState.PENDING,
                            attempt,
                            next_attempt_at=at,
                            reason=outcome.reason,
                            status=outcome.status,
                        )
                    )
                    later[(at // 1000 + 1) * 1000].append(item.id)  # one job per second
                    retried[(retry_label(outcome), outcome.reason)] += 1
        for outcome_kind, count in counts.items():
            self.metrics.outcomes(notification.tenant_id, kind, outcome_kind.value, count)
        if refused is not None and job.key is not None:
            # Nothing of a counted batch is written until it settles whole: it goes back
            # untouched, to be sent again once the credentials are fixed.
            held = self.providers.held_by(notification.app_id, kind)
            await self.reports.pause(notification, held, refused.reason, now)
            self.probes.paused((notification.app_id, kind))
            raise Postpone(self.probes.first_wait, f"{kind} credentials refused: {refused.reason}")
        self._count_retries(notification, kind, retried, later)
        # Retry jobs of rows are queued before the results are written: a crash in between
        # leaves those deliveries pending and due, so the retry job (or this job, leased
        # again) still finds them. The other order could strand them with no job to run
        # them. A counted batch's retry is kept with its settlement instead, and queued
        # after it: this batch run again after a crash queues the kept one.
        kept = await self._retries(notification, kind, due, later, job)
        left = await self._write(notification, kind, due, results, job.key, now, deleted, kept)
        if kept is not None:
            await self._queue_retry(kept)
        await self.store.invalidate_devices(dead, now)
        self.metrics.invalidated(kind, len(dead))
        if refused is not None:
            held = self.providers.held_by(notification.app_id, kind)
            await self.reports.pause(notification, held, refused.reason, now)
            self.probes.paused((notification.app_id, kind))
            raise Postpone(self.probes.first_wait, f"{kind} credentials refused: {refused.reason}")
        return left

    async def _retries(
        self,
        notification: Notification,
        kind: str,
        due: Sequence[DueDelivery],
        later: dict[int, list[str]],
        job: SendJob,
    ) -> str | None:
        """Queue the retries of a batch of rows, a job per second of their planned times.
        Those of a counted batch are returned instead, as one job that carries them, at
        the latest of their times (JSON: {"at", "job": its payload}, for
        :meth:`_queue_retry`): its key follows from this batch's and the attempt, and it is
        kept with this batch's settlement, so a run again queues this same job, never one
        with other deliveries under its key."""
        if job.key is None or not later:
            for at, ids in later.items():
                await self.queue.enqueue(
                    [send_job(SendJob(notification.id, tuple(ids)))], available_at=at
                )
            return None
        again = {delivery_id for ids in later.values() for delivery_id in ids}
        items = [item for item in due if item.id in again]
        retry = SendJob(
            notification.id,
            tuple(item.id for item in items),
            tuple(_member(item) for item in items),
            f"{job.key.split('/')[0]}/{job.attempts + 1}",
            job.attempts + 1,
        )
        return orjson.dumps({"at": max(later), "job": send_job(retry).payload.decode()}).decode()

    def _count_retries(
        self,
        notification: Notification,
        kind: str,
        retried: Counter[tuple[str, str]],
        later: dict[int, list[str]],
    ) -> None:
        if not retried:
            return
        by_label: Counter[str] = Counter()
        for (label, _reason), count in retried.items():
            by_label[label] += count
        for label, count in by_label.items():
            self.metrics.retries(kind, label, count)
        self.retry_warnings.retried(notification, kind, retried, min(later))

    async def _queue_retry(self, kept: str) -> None:
        """Queue a counted batch's retry as :meth:`_retries` kept it."""
        retry = orjson.loads(kept)
        await self.queue.enqueue([NewJob(SEND, retry["job"].encode())], available_at=retry["at"])

    async def _write(
        self,
        notification: Notification,
        kind: str,
        due: Sequence[DueDelivery],
        results: Sequence[DeliveryResult],
        key: str | None,
        now: int,
        deleted: Sequence[DueDelivery] = (),
        kept: str | None = None,
    ) -> int:
        """Write a batch's results: onto its rows, or, for a counted batch (``key``), as
        counts, with a row only for each delivery that ended other than sent (a retry is
        in its own job, still pending), with ``deleted`` devices' deliveries failed and
        ``kept`` kept. Returns the notification's pending deliveries."""
        if key is None:
            return await self.store.write_results(notification.id, kind, results, now)
        if deleted:
            reason = "device deleted"
            results = [
                *results,
                *(
                    DeliveryResult(d.id, DeliveryState.FAILED, d.attempts, reason=reason)
                    for d in deleted
                ),
            ]
            due = [*due, *deleted]
        devices = {item.id: item.device.id for item in due}
        moved: Counter[tuple[str, str]] = Counter()
        failed = []
        for result in results:
            if result.state is DeliveryState.PENDING:
                continue
            moved[(kind, result.state.value)] += 1
            if result.state is not DeliveryState.SENT:
                failed.append((result, devices[result.delivery_id], kind))
        moved[(kind, DeliveryState.PENDING.value)] -= sum(moved.values())
        settlement = Settlement(key, moved, failed, kept)
        return await self.store.settle_once(notification.id, notification.app_id, settlement, now)


def _member(item: DueDelivery) -> AudienceMember:
    device = item.device
    return AudienceMember(
        device.id,
        item.provider,
        device.token,
        device.keys,
        device.locale,
        device.user_id,
        item.user_locale,
    )


def _fresh(
    ids: Sequence[str], members: Sequence[AudienceMember], attempts: int = 0
) -> list[DueDelivery]:
    """Deliveries to send as due ones, from the devices their job carries: new ones (no
    attempt yet), or a counted batch's, with the attempts they share."""
    return [
        DueDelivery(
            delivery_id,
            m.provider,
            attempts,
            DeviceAddress(m.device_id, m.token, m.keys, m.locale, m.user_id),
            m.user_locale,
        )
        for delivery_id, m in zip(ids, members, strict=True)
    ]


def _final(
    item: DueDelivery, state: DeliveryState, attempt: int, outcome: Outcome
) -> DeliveryResult:
    return DeliveryResult(item.id, state, attempt, reason=outcome.reason, status=outcome.status)
