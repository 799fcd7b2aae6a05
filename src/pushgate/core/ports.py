"""What the domain asks of storage. ``pushgate.storage`` implements these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pushgate.core.actions import ActionDefinition, ActionDeletion, ActionSet
from pushgate.core.audience import Audience
from pushgate.core.models import (
    ApiKey,
    App,
    Device,
    DeviceState,
    RateLimit,
    Sealed,
    StoredCredential,
    Tenant,
    TokenChange,
    User,
)
from pushgate.core.notifications import (
    AddedDeliveries,
    AudienceMember,
    DeliveryRecord,
    DeliveryResult,
    DeliveryState,
    DueDeliveries,
    HeldTarget,
    Notification,
    NotificationState,
    Settled,
    Settlement,
)
from pushgate.core.preferences import PagePreferences
from pushgate.core.suppression import SuppressionReason

if TYPE_CHECKING:
    from pushgate.core.responses import Handling, StoredResponse
    from pushgate.core.type_inputs import NotificationType

# More writes to make in a store's open transaction (given its connection), so that
# they commit with it or not at all: the jobs a change makes (docs/architecture.md §9).
InTransaction = Callable[[Any], Awaitable[None]]


class AccountStorePort(Protocol):
    async def instance_value(self, key: str, default: str) -> str: ...
    async def insert_tenant(self, tenant: Tenant) -> None: ...
    async def tenant_by_name(self, name: str) -> Tenant | None: ...
    async def tenant_by_id(self, tenant_id: str) -> Tenant | None: ...
    async def list_tenants(self) -> list[Tenant]: ...
    async def rename_tenant(self, tenant_id: str, name: str) -> None: ...
    async def set_tenant_limits(
        self,
        tenant_id: str,
        rate_limit: RateLimit | None,
        send_rate_limit: RateLimit | None,
        deliveries_per_day: int | None,
    ) -> None: ...
    async def delete_tenant(self, tenant_id: str) -> None: ...
    async def insert_key(self, key: ApiKey) -> None: ...
    async def key_by_prefix(self, prefix: str) -> ApiKey | None: ...
    async def key_by_id(self, key_id: str) -> ApiKey | None: ...
    async def list_keys(self, tenant_id: str | None, *, every_tenant: bool) -> list[ApiKey]: ...
    async def revoke_key(self, key_id: str, at: int) -> None: ...
    async def expire_key(self, key_id: str, at: int) -> None: ...
    async def set_key_limit(self, key_id: str, rate_limit: RateLimit | None) -> None: ...
    async def touch_key(self, key_id: str, at: int) -> None: ...
    async def count_keys(self) -> int: ...
    async def insert_app(self, app: App) -> None: ...
    async def app_by_name(self, tenant_id: str, name: str) -> App | None: ...
    async def app_name(self, app_id: str) -> str | None: ...
    async def list_apps(self, tenant_id: str) -> list[App]: ...
    async def update_app(self, app_id: str, values: dict[str, Any]) -> None: ...
    async def delete_app(self, app_id: str) -> None: ...
    async def app_user_secret(self, app_id: str) -> bytes | None: ...
    async def put_credential(self, item: StoredCredential) -> None: ...
    async def list_credentials(self, app_id: str) -> list[StoredCredential]: ...
    async def credential_version(
        self, app_id: str, kind: str
    ) -> tuple[int, int | None, str | None] | None: ...
    async def delete_credential(self, app_id: str, kind: str) -> bool: ...
    async def sealed_secrets(self) -> list[Sealed]: ...
    async def replace_sealed(
        self, item: Sealed, sealed: bytes, fingerprints: dict[str, str] | None
    ) -> bool: ...


class PeopleStorePort(Protocol):
    async def upsert_user(self, item: User, *, fields: Sequence[str]) -> tuple[User, bool]: ...
    async def ensure_users(
        self, tenant_id: str, external_ids: Sequence[str], at: int
    ) -> dict[str, str]: ...
    async def users_by_aliases(self, app_id: str, aliases: Sequence[str]) -> dict[str, str]: ...
    async def user_by_external_id(self, tenant_id: str, external_id: str) -> User | None: ...
    async def user_by_id(self, user_id: str) -> User | None: ...
    async def list_users(
        self,
        tenant_id: str,
        after: str | None,
        limit: int,
        attributes: Mapping[str, str] | None = None,
    ) -> list[User]:
        """A page of the tenant's users by external id; with ``attributes``, only those
        whose attributes hold each of them (as strings, exactly)."""
        ...

    async def delete_user(self, user_id: str, at: int) -> None: ...
    async def set_alias(self, app_id: str, alias: str, user_id: str) -> None: ...
    async def delete_alias(self, app_id: str, alias: str) -> bool: ...
    async def user_by_alias(self, app_id: str, alias: str) -> User | None: ...
    async def aliases_of(self, user_id: str) -> list[tuple[str, str]]: ...
    async def save_device(
        self,
        item: Device,
        *,
        user_external_id: str | None = None,
        old_token: str | None = None,
        kept: frozenset[str] = frozenset(),
        same_user_only: bool = False,
    ) -> tuple[Device, bool]: ...
    async def upsert_devices(self, items: Sequence[Device]) -> None: ...
    async def device_by_id(self, tenant_id: str, device_id: str) -> Device | None: ...
    async def device_by_token(self, app_id: str, provider: str, token: str) -> Device | None: ...
    async def list_devices(
        self, tenant_id: str, filters: dict[str, str], after: str | None, limit: int
    ) -> list[Device]: ...
    async def set_device_state(
        self, device_id: str, state: DeviceState, reason: str | None, at: int
    ) -> None: ...
    async def token_history(self, device_id: str) -> list[TokenChange]: ...


class NotificationStorePort(Protocol):
    async def insert_notification(
        self, item: Notification, within: InTransaction | None = None
    ) -> None: ...
    async def by_idempotency_key(self, tenant_id: str, key: str) -> Notification | None: ...
    async def release_idempotency_key(self, notification_id: str) -> None: ...
    async def notification(
        self, notification_id: str, tenant_id: str | None = None
    ) -> Notification | None: ...
    async def list_notifications(
        self,
        tenant_id: str,
        app_id: str | None,
        state: NotificationState | None,
        before: str | None,
        limit: int,
    ) -> list[Notification]: ...
    async def set_state(self, notification_id: str, state: NotificationState, at: int) -> None: ...
    async def finish_fanout(self, notification_id: str, at: int) -> None: ...
    async def complete_if_done(self, notification_id: str, at: int) -> bool: ...
    async def count_audience(
        self,
        audience: Audience,
        tenant_id: str,
        app_id: str,
        providers: Sequence[str] | None = None,
    ) -> int: ...
    async def unknown_people(
        self, audience: Audience, tenant_id: str, app_id: str
    ) -> list[str]: ...
    async def audience_page(
        self,
        audience: Audience,
        tenant_id: str,
        app_id: str,
        after: str | None,
        limit: int,
        providers: Sequence[str] | None = None,
    ) -> list[AudienceMember]: ...
    async def audience_page_with_preferences(
        self,
        audience: Audience,
        tenant_id: str,
        app_id: str,
        after: str | None,
        limit: int,
        providers: Sequence[str] | None = None,
    ) -> tuple[list[AudienceMember], PagePreferences]: ...
    async def add_deliveries(
        self,
        notification_id: str,
        app_id: str,
        targets: Sequence[tuple[str, str]],
        at: int,
        suppressed: Sequence[tuple[str, str, SuppressionReason]] = (),
        held: Sequence[HeldTarget] = (),
    ) -> AddedDeliveries: ...
    async def due_deliveries(self, delivery_ids: Sequence[str], now: int) -> DueDeliveries: ...
    async def write_results(
        self, notification_id: str, provider: str, results: Sequence[DeliveryResult], at: int
    ) -> int: ...
    async def settle_once(
        self, notification_id: str, app_id: str, settlement: Settlement, at: int
    ) -> int: ...
    async def settled(self, notification_id: str, key: str) -> Settled | None: ...
    async def pending_left(self, notification_id: str) -> int: ...
    async def devices_again(self, kept: Sequence[tuple[str, str]]) -> list[AudienceMember]: ...
    async def invalidate_devices(self, dead: Sequence[tuple[str, str, int]], at: int) -> None: ...
    async def counts(self, notification_id: str) -> list[tuple[str, str, int]]: ...
    async def counts_of(
        self, notification_ids: Sequence[str]
    ) -> dict[str, list[tuple[str, str, int]]]: ...
    async def list_deliveries(
        self, notification_id: str, state: str | None, after: str | None, limit: int
    ) -> list[DeliveryRecord]: ...
    async def finish_pending(
        self,
        notification_id: str,
        state: DeliveryState,
        reason: str,
        at: int,
        notification_state: NotificationState | None = None,
    ) -> int: ...
    async def pause_credentials(
        self, app_id: str, kind: str, reason: str, at: int, within: InTransaction | None = None
    ) -> bool: ...
    async def resume_credentials(
        self, app_id: str, kind: str, within: InTransaction | None = None
    ) -> bool: ...
    async def expire_overdue(self, now: int) -> list[str]: ...
    async def expire(self, notification_id: str, now: int) -> None: ...
    async def purge(self, cutoff: int, tenant_cutoffs: Mapping[str, int] | None = None) -> int:
        """Delete what was created before ``cutoff`` (a tenant's own cutoff where given)."""
        ...


class ActionStorePort(Protocol):
    """An app's actions and action sets (docs/actions.md). A set's keys are checked against
    the app's actions in the transaction that writes the set, and an action's use by sets
    in the one that deletes it, so neither check races the other."""

    async def insert_action(
        self, tenant_id: str, action: ActionDefinition, secret: bytes | None
    ) -> None: ...
    async def action(self, app_id: str, ref: str) -> ActionDefinition | None: ...
    async def list_actions(self, app_id: str) -> list[ActionDefinition]: ...
    async def actions_by_key(
        self, app_id: str, keys: Sequence[str]
    ) -> dict[str, ActionDefinition]: ...
    async def update_action(
        self, action: ActionDefinition, secret: bytes | None, *, replace_secret: bool
    ) -> bool: ...
    async def delete_action(self, app_id: str, action_id: str) -> ActionDeletion: ...
    async def action_secret(self, action_id: str) -> tuple[str, bytes] | None: ...
    async def insert_set(self, tenant_id: str, item: ActionSet) -> list[str]: ...
    async def action_set(self, app_id: str, key: str) -> ActionSet | None: ...
    async def list_sets(self, app_id: str) -> list[ActionSet]: ...
    async def update_set(self, item: ActionSet) -> list[str] | None: ...
    async def delete_set(self, app_id: str, key: str) -> bool: ...


class TypeStorePort(Protocol):
    """An app's notification types (``storage/types.py``; docs/types.md)."""

    async def insert_type(self, tenant_id: str, item: NotificationType) -> None: ...
    async def notification_type(self, app_id: str, key: str) -> NotificationType | None: ...
    async def types_of_key(self, tenant_id: str, key: str) -> list[NotificationType]: ...
    async def type_keys(self, tenant_id: str) -> list[str]: ...
    async def list_types(
        self, app_id: str, after: str | None, limit: int
    ) -> list[NotificationType]: ...
    async def update_type(self, item: NotificationType) -> bool: ...
    async def delete_type(self, app_id: str, key: str) -> bool: ...


class RecipientReader(Protocol):
    """What a template that reads its recipient is given of each device and its user:
    ``{device id: {"user": {...} | None, "device": {...}}}``, one read per send batch."""

    async def recipients(self, device_ids: Sequence[str]) -> dict[str, dict[str, Any]]: ...
    async def users(self, user_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``{user id: {...}}``, what a template reads as ``user``: for a template that
        does not read ``device``, a read of the users table alone."""
        ...


class ResponseStorePort(Protocol):
    """Answers from devices to actions (``storage/responses.py``; docs/actions.md)."""

    async def record(
        self, item: StoredResponse, *, allow_repeats: bool, within: InTransaction | None = None
    ) -> tuple[StoredResponse, bool]:
        """Store ``item`` and make ``within``'s writes (its job) in the same transaction;
        ``(item, True)``, its ``user_id`` the one its device has as it is stored (the
        item's own is not used). When the action is answered once per delivery and this delivery
        has an answer to such an action already (this one or another): ``(the first
        response, False)``, nothing written."""
        ...

    async def response(self, response_id: str) -> StoredResponse | None: ...

    async def list_for(
        self, notification_id: str, before: str | None, limit: int
    ) -> list[StoredResponse]:
        """A page of the notification's responses, newest first (``before``: the last id
        of the previous page)."""
        ...

    async def counts(self, notification_id: str) -> list[tuple[str, str, int]]:
        """(action key, state, how many) of the notification's responses."""
        ...

    async def settle(self, response_id: str, handling: Handling) -> bool:
        """Write how a handler run ended, unless the response reached a final state
        already (another run finished first); True when written."""
        ...


class ActionLookup(Protocol):
    """The actions an app defined, and the secrets webhook handlers are signed with (the
    action store implements it)."""

    async def action(self, app_id: str, action_id: str) -> ActionDefinition | None: ...

    async def handler_secret(self, action_id: str) -> str | None:
        """The ``whsec_…`` secret a webhook handler's requests are signed with, if any."""
        ...


class InstanceStatsPort(Protocol):
    """What the instance-wide gauges of ``/metrics`` read, each cheaply enough to run on
    every scrape (delivery/instance_gauges.py)."""

    async def paused_credentials(self) -> dict[str, int]:
        """Paused credentials by provider kind."""
        ...

    async def oldest_sending_since(self) -> int | None:
        """Since when (epoch ms) the oldest notification still sending has been due."""
        ...

    async def notifications_between(self, after: str, until: str) -> int:
        """Notifications stored with an id in (``after``, ``until``]."""
        ...


@dataclass(frozen=True, slots=True)
class RetryGroup:
    """Pending deliveries of one provider retrying after one reason."""

    provider: str
    reason: str
    count: int
    next_attempt_at: int


@dataclass(frozen=True, slots=True)
class PendingRows:
    """What a look at a notification's pending rows found: those not yet attempted, and
    those retrying, grouped."""

    queued: int
    retrying: tuple[RetryGroup, ...]
    # Not yet attempted, held till their time (core/deferral.py), by provider and reason.
    deferred: tuple[RetryGroup, ...] = ()


class PendingReadsPort(Protocol):
    """What telling why deliveries are pending reads (core/pending.py)."""

    async def paused_credentials_of(self, app_id: str) -> dict[str, str]:
        """The app's paused credentials: provider kind → the provider's refusal."""
        ...

    async def held_marks(self, notification_id: str) -> list[tuple[str, int, int]]:
        """(reason, due time, count) of the deliveries its fan-out pages held back, as the
        pages kept them (delivery/fanout.py); read for notifications without rows."""
        ...

    async def pending_rows(
        self, notification_id: str, skip_providers: Sequence[str], limit: int
    ) -> PendingRows:
        """At most ``limit`` of the notification's pending rows, of providers other than
        ``skip_providers``, by whether they were attempted and why they retry."""
        ...
