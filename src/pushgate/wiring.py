"""Turns settings into concrete storage, queue, providers and services; the only module
that sees them all."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from pushgate.config import Settings, load_or_create_secret_keys
from pushgate.core.access import Access
from pushgate.core.action_catalog import ActionCatalog, HandlerLookup
from pushgate.core.action_notices import ActionNotices
from pushgate.core.answers import Answers
from pushgate.core.audit import AuditLog
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.event_processing import EventProcessor
from pushgate.core.event_purge import EventPurge
from pushgate.core.identity import Identities
from pushgate.core.ids import now_ms
from pushgate.core.inbound import Inbound
from pushgate.core.inbound_sources import SourceCatalog
from pushgate.core.interaction_forwarding import ForwardingSwitch
from pushgate.core.interactions import Interactions
from pushgate.core.notification_types import TypeCatalog
from pushgate.core.notifications import DeliveryRecords
from pushgate.core.operational_events import OperationalEvents
from pushgate.core.operational_webhook import OperationalWebhooks
from pushgate.core.ports import ActionLookup
from pushgate.core.preference_access import Preferences
from pushgate.core.preferences import PreferenceFilter
from pushgate.core.rate_limits import RateLimits
from pushgate.core.ratelimit import Limiter, MemoryLimiter
from pushgate.core.recipient_times import RecipientTimes
from pushgate.core.record_events import EventLog
from pushgate.core.registry import Registry
from pushgate.core.relay_origins import RelayOrigins
from pushgate.core.reports import Reports
from pushgate.core.response_reads import ResponseReads
from pushgate.core.response_waiter import ResponseWaiter
from pushgate.core.responses import ResponseRecorder
from pushgate.core.retention import TenantRetention
from pushgate.core.scoped_settings import ScopedSettings, open_setting
from pushgate.core.secretbox import SecretBox
from pushgate.core.sending import NotificationService
from pushgate.core.trigger_tests import TriggerTester
from pushgate.core.triggers import TriggerCatalog
from pushgate.core.type_switches import TypeSwitches
from pushgate.core.units import Units
from pushgate.core.webhook_defaults import TenantWebhookDefaults
from pushgate.delivery.jobs import (
    EventJobs,
    FanoutStarter,
    InteractionForwards,
    RecordEventJobs,
    ResponseStarter,
)
from pushgate.delivery.metrics import DeliveryMetrics
from pushgate.errors import Unavailable
from pushgate.providers.limits import payload_problem
from pushgate.queue import queue_from_url
from pushgate.queue.base import PipelineQueue
from pushgate.storage import migrate
from pushgate.storage.accounts import AccountStore
from pushgate.storage.actions import ActionStore
from pushgate.storage.audit import AuditStore
from pushgate.storage.engine import create_engine
from pushgate.storage.inbound_sources import SourceStore
from pushgate.storage.interactions import InteractionStore
from pushgate.storage.notifications import NotificationStore
from pushgate.storage.operational_events import OperationalEventStore
from pushgate.storage.people import PeopleStore
from pushgate.storage.preferences import PreferenceStore
from pushgate.storage.record_events import EventStore, TriggerStore
from pushgate.storage.relay import RelayStore
from pushgate.storage.reports import ReportStore
from pushgate.storage.responses import ResponseStore
from pushgate.storage.scopes import ScopeStore
from pushgate.storage.types import TypeStore

if TYPE_CHECKING:
    from pushgate.core.packages import PackageService
    from pushgate.core.pending import PendingReasons
    from pushgate.delivery.instance_gauges import InstanceGauges
    from pushgate.delivery.operational_reports import OperationalReports
    from pushgate.delivery.providers import ProviderCache
    from pushgate.delivery.queue_admin import QueueAdmin
    from pushgate.delivery.relay import RelayService
    from pushgate.delivery.responses import ResponseRunner
    from pushgate.delivery.worker import Worker
    from pushgate.providers.options import ProviderOptions

DAY_MS = 24 * 3600 * 1000
FANOUT_PAGE = 2000


@dataclass
class Services:
    """Everything a request handler, CLI command or worker needs, built once."""

    settings: Settings
    engine: AsyncEngine
    access: Access
    registry: Registry
    accounts: AccountStore
    people: PeopleStore
    notifications: NotificationStore
    sending: NotificationService
    queue: PipelineQueue
    box: SecretBox
    audit: AuditLog
    limits: RateLimits
    actions: ActionStore
    catalog: ActionCatalog
    types: TypeCatalog
    metrics: DeliveryMetrics = field(default_factory=DeliveryMetrics)
    clock: Clock = SYSTEM_CLOCK
    _closing: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @functools.cached_property
    def scopes(self) -> ScopeStore:
        return ScopeStore(self.engine)

    @functools.cached_property
    def units(self) -> Units:
        return Units(self.scopes, self.audit)

    @functools.cached_property
    def type_switches(self) -> TypeSwitches:
        """Shared by the API (the effective view) and a worker in this process (fan-out),
        so a change made here is seen at once by both."""
        return TypeSwitches(self.scopes, self.types.on_by_default)

    @functools.cached_property
    def recipient_times(self) -> RecipientTimes:
        """Shared by the settings (which drop what it keeps on a change) and the fan-out."""
        return RecipientTimes(self.scopes)

    @functools.cached_property
    def preference_store(self) -> PreferenceStore:
        return PreferenceStore(self.engine)

    @functools.cached_property
    def preference_filter(self) -> PreferenceFilter:
        """Shared by the API and a worker in this process, like the type switches."""
        return PreferenceFilter(self.preference_store, self.types.may_opt_out)

    @functools.cached_property
    def preferences(self) -> Preferences:
        return Preferences(
            self.preference_store,
            self.registry,
            self.types.keys,
            self.preference_filter,
            clock=self.clock,
        )

    @functools.cached_property
    def scoped_settings(self) -> ScopedSettings:
        return ScopedSettings(
            self.scopes,
            self.units,
            self.type_switches,
            self.people,
            self.box,
            self.audit,
            instance_retention_days=self.settings.retention_days,
            type_needs=self.types.general_needs,
            type_keys=self.types.keys,
            caches=(self.webhook_defaults, self.recipient_times, self.forwarding_switch),
        )

    @functools.cached_property
    def relay_store(self) -> RelayStore:
        return RelayStore(self.engine)

    @functools.cached_property
    def relay_origins(self) -> RelayOrigins:
        return RelayOrigins(self.relay_store, self.access, self.audit)

    @functools.cached_property
    def relay(self) -> RelayService:
        """The relay side (docs/relay.md), with provider clients of its own: the API
        process sends what origins relay, without a job in between."""
        from pushgate.delivery.providers import ProviderCache
        from pushgate.delivery.relay import RelayService

        providers = ProviderCache(
            self.accounts,
            self.box,
            provider_options(self.settings),
            webhook_defaults=self.webhook_defaults,
        )
        service = RelayService(
            self.relay_store,
            self.registry,
            self.access.tenant_by_id,
            providers,
            self.limits,
            self.metrics,
            clock=self.clock,
            sync_bound=self.settings.relay_sync_seconds,
        )
        # Sends still running end (and write their answers) before their clients close.
        self._closing.append(service.drain)
        self._closing.append(providers.close)
        return service

    @functools.cached_property
    def webhook_defaults(self) -> TenantWebhookDefaults:
        """Shared by the settings service (which forgets them on a change) and a worker in
        this process (the webhook provider's fallbacks)."""
        return TenantWebhookDefaults(self.scopes, functools.partial(open_setting, self.box))

    @functools.cached_property
    def queue_admin(self) -> QueueAdmin:
        from pushgate.delivery.queue_admin import QueueAdmin

        return QueueAdmin(self.queue)

    @functools.cached_property
    def instance_gauges(self) -> InstanceGauges:
        """The instance-wide series ``/metrics`` reads at scrape time."""
        from pushgate.delivery.instance_gauges import InstanceGauges
        from pushgate.delivery.jobs import JOB_KINDS
        from pushgate.storage.instance_stats import InstanceStatsStore

        stats = InstanceStatsStore(self.engine)
        return InstanceGauges(stats, self.queue, JOB_KINDS, self.metrics, self.clock)

    @functools.cached_property
    def pending_reasons(self) -> PendingReasons:
        """Why a notification's deliveries are pending (core/pending.py)."""
        from pushgate.core.pending import PendingReasons
        from pushgate.storage.pending import PendingStore

        return PendingReasons(PendingStore(self.engine), clock=self.clock)

    @functools.cached_property
    def handlers(self) -> ActionLookup:
        """What the response loop reads of the actions: definitions and webhook secrets."""
        return HandlerLookup(self.catalog)

    @functools.cached_property
    def responses(self) -> ResponseStore:
        return ResponseStore(self.engine)

    @functools.cached_property
    def response_recorder(self) -> ResponseRecorder:
        return ResponseRecorder(self.responses, ResponseStarter(self.queue), now_ms)

    @functools.cached_property
    def record_event_store(self) -> EventStore:
        return EventStore(self.engine)

    @functools.cached_property
    def triggers(self) -> TriggerCatalog:
        return TriggerCatalog(
            TriggerStore(self.engine), self.registry, self.types, audit=self.audit, clock=self.clock
        )

    @functools.cached_property
    def packages(self) -> PackageService:
        """Export, install, upgrade and uninstall packages (docs/packages.md)."""
        from pushgate.core.packages import PackageService
        from pushgate.storage.packages import PackageStore

        return PackageService(
            PackageStore(self.engine),
            self.registry,
            self.types,
            self.catalog,
            self.triggers,
            self.sources,
            forget_settings=self.type_switches.forget,
            audit=self.audit,
            instance_name=self.settings.instance_name,
            clock=self.clock,
        )

    def events_at(self, clock: Clock) -> EventLog:
        """The event log, stamping events by ``clock``."""
        return EventLog(self.record_event_store, RecordEventJobs(self.queue), self.registry, clock)

    @functools.cached_property
    def events(self) -> EventLog:
        """Records host events (the one entry point, core/record_events.py) and reads them."""
        return self.events_at(self.clock)

    @functools.cached_property
    def sources(self) -> SourceCatalog:
        """A tenant's inbound sources (docs/events.md, "Inbound sources")."""
        return SourceCatalog(
            SourceStore(self.engine), self.registry, self.box, audit=self.audit, clock=self.clock
        )

    @functools.cached_property
    def inbound(self) -> Inbound:
        """Hosts' requests to their sources, made events through ``events``."""
        return Inbound(self.sources, self.events, self.limits, self.access.tenant_by_id, self.clock)

    @functools.cached_property
    def trigger_tester(self) -> TriggerTester:
        return TriggerTester(self.triggers, self.types, self.record_event_store)

    def event_processor_at(self, clock: Clock) -> EventProcessor:
        return EventProcessor(
            self.record_event_store,
            self.record_event_store,
            self.triggers,
            self.sending,
            self.registry,
            self.access.tenant_by_id,
            RecordEventJobs(self.queue),
            clock=clock,
        )

    @functools.cached_property
    def event_store(self) -> OperationalEventStore:
        return OperationalEventStore(self.engine)

    def operational_events_at(self, clock: Clock) -> OperationalEvents:
        """The recorder of operational events, stamping them by ``clock``."""
        return OperationalEvents(self.event_store, EventJobs(self.queue), clock)

    @functools.cached_property
    def operational_events(self) -> OperationalEvents:
        return self.operational_events_at(self.clock)

    @functools.cached_property
    def operational_webhooks(self) -> OperationalWebhooks:
        return OperationalWebhooks(
            self.event_store,
            self.box,
            self.audit,
            allow_private_targets=self.settings.allow_private_targets,
        )

    @functools.cached_property
    def answers(self) -> Answers:
        """The answer endpoint's service: checks, records, waits (core/answers.py)."""
        notices = ActionNotices(self.sending, self.notifications, self.access.tenant_by_id)
        return Answers(
            self.box,
            self.notifications,
            self.registry,
            self.access.tenant_by_id,
            self.handlers,
            self.responses,
            self.response_recorder,
            self.response_waiter,
            notices,
            self.limits,
            wait_seconds=self.settings.action_answer_wait_seconds,
            clock=self.clock,
        )

    @functools.cached_property
    def interaction_store(self) -> InteractionStore:
        return InteractionStore(self.engine)

    @functools.cached_property
    def reports(self) -> Reports:
        return Reports(ReportStore(self.engine), self.registry)

    @functools.cached_property
    def interactions(self) -> Interactions:
        """Devices' reports of their pushes (core/interactions.py)."""
        return Interactions(
            self.box,
            self.interaction_store,
            self.notifications.notification,
            self.registry,
            self.access.tenant_by_id,
            self.limits,
            self.metrics,
            clock=self.clock,
            forwards=InteractionForwards(self.queue),
            forwarding=self.forwarding_switch,
        )

    @functools.cached_property
    def forwarding_switch(self) -> ForwardingSwitch:
        """Which tenants forward their interactions; forgotten when settings change."""
        return ForwardingSwitch(
            lambda tenant_id: self.scoped_settings.forwards_interactions(tenant_id),
            clock=self.clock.now,
        )

    @functools.cached_property
    def response_reads(self) -> ResponseReads:
        return ResponseReads(self.sending, self.responses)

    @functools.cached_property
    def response_waiter(self) -> ResponseWaiter:
        """Shared by the API and a worker in this process (core/response_waiter.py)."""
        return ResponseWaiter(self.responses)

    async def close(self) -> None:
        for close in self._closing:
            await close()
        await self.limits.close()
        await self.queue.close()
        await self.engine.dispose()

    async def is_database_ready(self) -> tuple[bool, str]:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
            current = await migrate.is_current(self.engine)
        except (OSError, sa.exc.SQLAlchemyError, Unavailable) as exc:
            return False, f"database unreachable: {type(exc).__name__}"
        return (True, "ok") if current else (False, "migrations pending")

    async def is_queue_ready(self) -> tuple[bool, str]:
        try:
            return await self.queue.is_ready()
        except Exception as exc:  # a check answers, whatever went wrong
            return False, f"queue check failed: {type(exc).__name__}"


def limiter_for(settings: Settings) -> Limiter:
    """Rate-limit buckets where the queue is: in this process beside the ``sql`` queue
    (embedded mode, one API process), in Redis beside a Redis queue (scale mode, shared by
    every API process)."""
    if settings.queue_url.startswith(("redis://", "rediss://", "unix://")):
        from pushgate.queue.ratelimit_redis import RedisLimiter

        return RedisLimiter.from_url(settings.queue_url, settings.queue_prefix)
    return MemoryLimiter()


async def build_services(
    settings: Settings,
    *,
    run_migrations: bool = True,
    limits_clock: Callable[[], float] = time.time,
    clock: Clock = SYSTEM_CLOCK,
) -> Services:
    """Open the database (migrating it when asked) and assemble the services.

    ``limits_clock`` is the rate limits' time, stepped by tests instead of sleeping;
    ``clock`` that of the queue, of accepting notifications and of the workers built on
    these services."""
    engine = create_engine(
        settings.effective_database_url, sqlite_busy_seconds=settings.sqlite_busy_seconds
    )
    if run_migrations:
        await migrate.upgrade(engine)
    accounts = AccountStore(engine)
    people = PeopleStore(engine)
    notifications = NotificationStore(engine)
    keys = load_or_create_secret_keys(settings)
    box = SecretBox(keys.current, previous_keys=keys.previous)
    audit = AuditLog(AuditStore(engine))
    access = Access(accounts, audit=audit)
    registry = Registry(
        accounts,
        people,
        box,
        audit=audit,
        allow_private_targets=settings.allow_private_targets,
        user_token_max_seconds=settings.user_token_max_seconds,
    )
    queue = queue_from_url(
        settings.queue_url,
        engine,
        prefix=settings.queue_prefix,
        reconcile_seconds=settings.queue_reconcile_seconds,
        clock=clock,
    )
    limits = RateLimits(limiter_for(settings), access.tenant_by_id, clock=limits_clock)
    actions = ActionStore(engine)
    catalog = ActionCatalog(
        actions,
        registry,
        box,
        audit=audit,
        allow_private_targets=settings.allow_private_targets,
    )
    types = TypeCatalog(TypeStore(engine), registry, actions, audit=audit)
    sending = NotificationService(
        notifications,
        registry,
        FanoutStarter(queue),
        payload_problem,
        actions=actions,
        audit=audit,
        default_ttl=settings.default_ttl_seconds,
        max_ttl=settings.max_ttl_seconds,
        max_schedule_ms=settings.max_schedule_days * 86_400_000,
        default_records=DeliveryRecords(settings.delivery_records),
        limits=limits,
        types=types,
        clock=clock,
    )
    await access.ensure_default_tenant()
    await access.instance_id()
    return Services(
        settings,
        engine,
        access,
        registry,
        accounts,
        people,
        notifications,
        sending,
        queue,
        box,
        audit,
        limits,
        actions,
        catalog,
        types,
        clock=clock,
    )


def provider_options(settings: Settings) -> ProviderOptions:
    from pushgate.providers.options import ProviderOptions

    return ProviderOptions(
        allow_private_targets=settings.allow_private_targets,
        ca_files=tuple(str(path) for path in settings.provider_ca_file),
    )


class WorkerHandle:
    """A worker and the provider and handler clients it keeps open."""

    def __init__(self, worker: Worker, providers: ProviderCache) -> None:
        self.worker = worker
        self.providers = providers

    async def close(self) -> None:
        await self.providers.close()
        await self.worker.responder.close()
        await self.worker.ops_webhook.close()


def build_responder(
    services: Services,
    options: ProviderOptions,
    clock: Clock,
    actions: ActionLookup,
    reports: OperationalReports,
) -> ResponseRunner:
    """What runs action handlers: the webhook client shares the providers' settings (the
    outbound guard, trusted CAs), and failures are told through the ordinary send path."""
    from pushgate.delivery.action_handlers import ActionHandlers
    from pushgate.delivery.responses import ResponseRunner
    from pushgate.delivery.webhook_handler import WebhookHandlerClient

    notices = ActionNotices(services.sending, services.notifications, services.access.tenant_by_id)
    return ResponseRunner(
        services.responses,
        actions,
        ActionHandlers(actions, WebhookHandlerClient(options)),
        notices,
        reports=reports,
        waiter=services.response_waiter,
        clock=clock,
    )


def build_worker(
    services: Services, *, clock: Clock | None = None, actions: ActionLookup | None = None
) -> WorkerHandle:
    """A delivery worker over the same storage, queue and metrics as ``services``,
    reading time from ``clock`` (the services' own by default) and actions from
    ``actions`` (the services' own by default)."""
    # The delivery side (provider clients, HTTP/2 transport) is imported by the processes
    # that deliver, not by every command that only builds the services.
    from pushgate.core.retry import RetryPolicy
    from pushgate.delivery.fanout import Fanout
    from pushgate.delivery.operational_reports import OperationalReports
    from pushgate.delivery.ops_webhook import OpsWebhookSender
    from pushgate.delivery.personalize import Personalizer
    from pushgate.delivery.providers import ProviderCache
    from pushgate.delivery.sender import Sender
    from pushgate.delivery.worker import Worker
    from pushgate.storage.zones import ZoneStore

    settings = services.settings
    clock = services.clock if clock is None else clock
    options = provider_options(settings)
    providers = ProviderCache(
        services.accounts, services.box, options, webhook_defaults=services.webhook_defaults
    )
    retention = TenantRetention(services.scopes, settings.retention_days)
    events = services.operational_events_at(clock)
    reports = OperationalReports(events, services.notifications, services.responses)
    fanout = Fanout(
        services.notifications,
        services.queue,
        page_size=FANOUT_PAGE,
        batch_size=settings.send_batch_size,
        reports=reports,
        clock=clock,
        switches=services.type_switches,
        preferences=services.preference_filter,
        times=services.recipient_times,
        zones=ZoneStore(services.engine),
    )
    sender = Sender(
        services.notifications,
        providers,
        services.queue,
        services.metrics,
        policy=RetryPolicy(),
        retention=retention,
        paused_recheck_seconds=settings.paused_recheck_seconds,
        reports=reports,
        clock=clock,
        identities=Identities(
            services.box,
            settings.effective_instance_name,
            services.access.instance_id,
            services.accounts.app_name,
            grace_days=settings.response_token_grace_days,
            retention_days=settings.retention_days,
        ),
        personalizer=Personalizer(TypeStore(services.engine), services.types.templates),
    )
    worker = Worker(
        services.queue,
        services.notifications,
        fanout,
        sender,
        services.metrics,
        responder=build_responder(
            services, options, clock, services.handlers if actions is None else actions, reports
        ),
        reports=reports,
        ops_webhook=OpsWebhookSender(
            events,
            services.operational_webhooks,
            services.access.tenant_by_id,
            options,
            clock=clock,
        ),
        events=services.event_processor_at(clock),
        concurrency=settings.worker_concurrency,
        lease_seconds=settings.worker_lease_seconds,
        retention=retention,
        event_purge=EventPurge(services.record_event_store, retention),
        clock=clock,
        audit=services.audit,
        audit_retention_ms=settings.audit_retention_days * DAY_MS,
    )
    return WorkerHandle(worker, providers)
