"""Where the delivery pipeline tells of what it did on its own: the operational events of
credentials paused and resumed, a job dead-lettered, a handler failed for good, a
notification that reached nobody (core/operational_events.py; docs/operations.md,
"Operational events").

Pause and resume write their event in the transaction that changes the credentials, and
only when it changes them (a batch refused while they are paused already tells nothing
new). The others are written right after the change they follow, in a transaction of
their own: a worker that dies in between loses that event, never the work.

The same moments write the log's lines an operator watches (docs/operations.md, "Logs"):
a notification completed, with its counts; credentials paused and resumed.
"""

from __future__ import annotations

import logging
from collections import Counter

from pushgate.core.notifications import DeliveryState, Notification
from pushgate.core.operational_events import EventKind, OperationalEvents
from pushgate.core.ports import NotificationStorePort, ResponseStorePort
from pushgate.core.responses import StoredResponse
from pushgate.core.suppression import reason_of
from pushgate.delivery.jobs import (
    FANOUT,
    INTERACTIONS_WEBHOOK,
    OPS_WEBHOOK,
    RESPOND,
    SEND,
    read_fanout,
    read_respond,
    read_send,
)
from pushgate.queue.base import Job

log = logging.getLogger(__name__)


class OperationalReports:
    def __init__(
        self,
        events: OperationalEvents,
        notifications: NotificationStorePort,
        responses: ResponseStorePort,
    ) -> None:
        self.events = events
        self.notifications = notifications
        self.responses = responses

    async def pause(self, notification: Notification, kind: str, reason: str, at: int) -> None:
        """Pause the app's ``kind`` credentials; the event when they were not paused."""
        event = self.events.new(
            EventKind.CREDENTIALS_PAUSED,
            notification.app_id,
            tenant_id=notification.tenant_id,
            app_id=notification.app_id,
            provider=kind,
            reason=reason,
        )
        recording = await self.events.prepare(event)
        app_id = notification.app_id
        if await self.notifications.pause_credentials(app_id, kind, reason, at, recording.write):
            await recording.committed()
            log.warning(
                "%s credentials of app %s paused: %s",
                kind,
                app_id,
                reason,
                extra={
                    "event": "credentials.paused",
                    "app_id": app_id,
                    "tenant_id": notification.tenant_id,
                    "provider": kind,
                    "reason": reason,
                },
            )

    async def resume(self, notification: Notification, kind: str) -> bool:
        """Clear the pause; the event when there was one. True when there was."""
        event = self.events.new(
            EventKind.CREDENTIALS_RESUMED,
            notification.app_id,
            tenant_id=notification.tenant_id,
            app_id=notification.app_id,
            provider=kind,
        )
        recording = await self.events.prepare(event)
        app_id = notification.app_id
        if await self.notifications.resume_credentials(app_id, kind, recording.write):
            await recording.committed()
            log.info(
                "%s credentials of app %s resumed: the provider accepted a probe",
                kind,
                app_id,
                extra={
                    "event": "credentials.resumed",
                    "app_id": app_id,
                    "tenant_id": notification.tenant_id,
                    "provider": kind,
                },
            )
            return True
        return False

    async def complete(self, notification: Notification, at: int) -> None:
        """Complete the notification when nothing is pending; the event when none of its
        deliveries was sent."""
        if not await self.notifications.complete_if_done(notification.id, at):
            return
        try:
            by_state: Counter[str] = Counter()
            for _provider, state, count in await self.notifications.counts(notification.id):
                if reason_of(state) is None:  # suppressed on purpose: not a failure
                    by_state[state] += count
        except Exception:
            log.exception("notification %s: its counts could not be read", notification.id)
            return
        _completed(notification, by_state, at)
        if by_state[DeliveryState.SENT.value] or not sum(by_state.values()):
            return
        await self.events.record(
            self.events.new(
                EventKind.NOTIFICATION_FAILED,
                notification.id,
                tenant_id=notification.tenant_id,
                app_id=notification.app_id,
                counts={state: n for state, n in sorted(by_state.items()) if n},
            )
        )

    async def response_failed(self, stored: StoredResponse) -> None:
        result = stored.result
        await self.events.record(
            self.events.new(
                EventKind.ACTION_RESPONSE_FAILED,
                stored.id,
                tenant_id=stored.response.tenant_id,
                app_id=stored.app_id,
                action=stored.response.action_key,
                notification_id=stored.response.notification_id,
                attempts=stored.attempts,
                error=None if result is None else result.error,
            )
        )

    async def dead_lettered(self, job: Job, reason: str) -> None:
        """A job set aside for good; its tenant and app are those of the notification or
        response it worked for, when they can still be read. An operational webhook's
        job tells of no failure of its own: its event would queue another such job
        (docs/operations.md, "Operational events")."""
        if job.kind in (OPS_WEBHOOK, INTERACTIONS_WEBHOOK):
            return
        tenant_id, app_id = await self._owner(job)
        await self.events.record(
            self.events.new(
                EventKind.JOB_DEAD_LETTERED,
                job.id,
                tenant_id=tenant_id,
                app_id=app_id,
                job_kind=job.kind,
                attempts=job.attempts,
                reason=reason,
            )
        )

    async def _owner(self, job: Job) -> tuple[str | None, str | None]:
        try:
            if job.kind in (FANOUT, SEND):
                reader = read_fanout if job.kind == FANOUT else read_send
                found = await self.notifications.notification(reader(job.payload).notification_id)
                if found is not None:
                    return found.tenant_id, found.app_id
            elif job.kind == RESPOND:
                stored = await self.responses.response(read_respond(job.payload).response_id)
                if stored is not None:
                    return stored.response.tenant_id, stored.app_id
        except Exception:  # a payload it cannot read is the instance's to know
            log.exception("dead job %s: its owner could not be read", job.id)
        return None, None


def _completed(notification: Notification, by_state: Counter[str], at: int) -> None:
    counts = {state.value: by_state[state.value] for state in DeliveryState if state.is_final}
    seconds = max(0, at - (notification.send_at or notification.created_at)) / 1000
    log.info(
        "notification %s of app %s completed in %.1f s: %s",
        notification.id,
        notification.app_id,
        seconds,
        " ".join(f"{state}={n}" for state, n in counts.items()),
        extra={
            "event": "notification.completed",
            "notification_id": notification.id,
            "app_id": notification.app_id,
            "tenant_id": notification.tenant_id,
            "counts": counts,
            "seconds": seconds,
        },
    )
