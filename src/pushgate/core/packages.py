"""Packages: export an app's configuration as a bundle, install it into an app of any
tenant (or see first what an install would change), upgrade it, uninstall it, list what a
tenant has installed (docs/packages.md).

An install checks every item as the API would (the input models, templates and
conditions compile, handlers are allowed) before anything is written, then writes
everything, its record included, in one transaction. The record keeps the hash of each
item as installed: an item whose hash has changed since was changed by the tenant, and
an upgrade or uninstall leaves it as it is (core/package_plan.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pushgate.core.access import Caller
from pushgate.core.action_catalog import ActionCatalog, action_from_input
from pushgate.core.action_inputs import ActionSetInput
from pushgate.core.actions import ActionDefinition, ActionSet, WebhookHandler
from pushgate.core.audit import AuditAction, AuditLog
from pushgate.core.clock import SYSTEM_CLOCK, Clock
from pushgate.core.credentials.webhook import generate_signing_secret
from pushgate.core.event_inputs import TriggerInput
from pushgate.core.ids import new_id
from pushgate.core.inbound_sources import Source, SourceCatalog, StoredSource, verification_view
from pushgate.core.models import App, Provider, Scope, Tenant, action_owner, sealed_for
from pushgate.core.notification_types import TypeCatalog, check_template, type_from_input
from pushgate.core.package_bundle import (
    FORMAT,
    Bundle,
    DesiredItems,
    ItemKind,
    ItemRef,
    Placeholder,
    PlaceholderKind,
    SourceSpecs,
    action_item,
    desired_items,
    flag_parts,
    has_shared_secret,
    item_hash,
    set_item,
    source_item,
    source_secret_placeholder,
    trigger_item,
    type_item,
    under,
    version_order,
)
from pushgate.core.package_plan import WRITES, Change, Entry, ItemChange, Plan, plan
from pushgate.core.registry import Registry
from pushgate.core.scoped_settings import missing_general, provider_needs
from pushgate.core.settings_catalog import UNIT_PREFIX
from pushgate.core.triggers import Trigger, TriggerCatalog, check_conditions
from pushgate.core.type_inputs import NotificationType
from pushgate.errors import Conflict, InvalidInput, NotFound

DEFAULT_VERSION = "1.0.0"


@dataclass(frozen=True, slots=True)
class InstallRecord:
    """What a package installed into an app: item → hash of its normal form then."""

    id: str
    tenant_id: str
    app_id: str
    app: str
    name: str
    version: str
    items: dict[ItemRef, str]
    installed_at: int
    updated_at: int


@dataclass(slots=True)
class PackageWrites:
    """An install's writes, by kind, and the record it leaves (none after an uninstall:
    ``keep_record`` false). ``actions`` carry the sealed secret, whether to write it, and
    whether the action is new; the other kinds whether they are new."""

    record: InstallRecord
    at: int
    keep_record: bool = True
    deletes: list[ItemRef] = field(default_factory=list)
    actions: list[tuple[ActionDefinition, bytes | None, bool, bool]] = field(default_factory=list)
    action_sets: list[tuple[ActionSet, bool]] = field(default_factory=list)
    types: list[tuple[NotificationType, bool]] = field(default_factory=list)
    triggers: list[tuple[Trigger, bool]] = field(default_factory=list)
    sources: list[tuple[StoredSource, bool]] = field(default_factory=list)
    type_flags: list[tuple[str, bool]] = field(default_factory=list)


class PackageStorePort(Protocol):
    async def app_types(self, app_id: str) -> list[NotificationType]: ...
    async def app_actions(self, app_id: str) -> list[ActionDefinition]: ...
    async def app_sets(self, app_id: str) -> list[ActionSet]: ...
    async def app_triggers(self, app_id: str) -> list[Trigger]: ...
    async def app_sources(self, tenant_id: str, app_name: str) -> list[StoredSource]: ...
    async def type_flags(self, tenant_id: str, type_keys: Iterable[str]) -> dict[str, bool]: ...
    async def unit_keys(self, tenant_id: str) -> set[str]: ...
    async def global_values(self, tenant_id: str) -> dict[str, Any]: ...
    async def credential_kinds(self, app_id: str) -> set[str]: ...
    async def installs(self, tenant_id: str, app_id: str | None = None) -> list[InstallRecord]: ...
    async def apply(self, writes: PackageWrites) -> None: ...


@dataclass(frozen=True, slots=True)
class FilledPlaceholder:
    placeholder: Placeholder
    filled: bool


@dataclass(frozen=True, slots=True)
class PackageOutcome:
    """What an install, upgrade or uninstall changed (or, in a dry run, would change)."""

    name: str
    version: str | None
    previous_version: str | None
    app: str
    dry_run: bool
    changes: list[ItemChange]
    placeholders: list[FilledPlaceholder]


@dataclass(slots=True)
class _AppState:
    """An app's items as stored (the objects, to keep their ids) and in normal form."""

    objects: dict[ItemRef, Any] = field(default_factory=dict)
    entries: dict[ItemRef, Entry] = field(default_factory=dict)

    def add(self, ref: ItemRef, stored: Any, item: Any) -> None:
        self.objects[ref] = stored
        self.entries[ref] = Entry(item, item_hash(item))


class PackageService:
    def __init__(
        self,
        store: PackageStorePort,
        registry: Registry,
        types: TypeCatalog,
        actions: ActionCatalog,
        triggers: TriggerCatalog,
        sources: SourceCatalog,
        *,
        forget_settings: Callable[[], None],
        audit: AuditLog,
        instance_name: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.registry = registry
        self.types = types
        self.actions = actions
        self.triggers = triggers
        self.sources = sources
        self.forget_settings = forget_settings
        self.audit = audit
        self.instance_name = instance_name
        self.clock = clock

    # -- export ---------------------------------------------------------------------------
    async def export(
        self,
        caller: Caller,
        tenant: Tenant,
        app_name: str,
        name: str | None = None,
        version: str | None = None,
    ) -> dict[str, Any]:
        """The app's configuration as a bundle: its types, actions, action sets, triggers
        and the switches of its types; its credentials and webhook secrets only named."""
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        state = await self._state(tenant, app, ())
        items: dict[str, dict[str, Any]] = {kind.value: {} for kind in ItemKind}
        for ref in sorted(state.entries):
            item = state.entries[ref].item
            if ref.kind == ItemKind.TYPE_FLAGS:
                scope, type_key = flag_parts(ref.key)
                items[ref.kind.value].setdefault(scope, {})[type_key] = item
            else:
                items[ref.kind.value][ref.key] = item
        placeholders = [
            {
                "name": f"credentials.{kind}",
                "kind": PlaceholderKind.CREDENTIALS.value,
                "provider": kind,
            }
            for kind in sorted(await self.store.credential_kinds(app.id))
        ]
        placeholders += [
            {
                "name": f"actions.{ref.key}.handler.secret",
                "kind": PlaceholderKind.WEBHOOK_SECRET.value,
            }
            for ref, stored in sorted(state.objects.items())
            if isinstance(stored, ActionDefinition) and isinstance(stored.handler, WebhookHandler)
        ]
        placeholders += [
            {"name": source_secret_placeholder(ref.key), "kind": PlaceholderKind.SOURCE_SECRET}
            for ref, stored in sorted(state.objects.items())
            if isinstance(stored, Source) and has_shared_secret(stored.spec)
        ]
        bundle: dict[str, Any] = {
            "format": FORMAT,
            "name": name or app.name,
            "version": version or DEFAULT_VERSION,
            "source": {"app": app.name},
            "placeholders": placeholders,
            "items": items,
        }
        if self.instance_name:
            bundle["source"]["instance"] = self.instance_name
        # The bundle is checked as an install would read it, so an export is installable.
        Bundle.model_validate(bundle)
        return bundle

    # -- install and upgrade ----------------------------------------------------------------
    async def install(
        self, caller: Caller, tenant: Tenant, app_name: str, bundle: Bundle, *, dry_run: bool
    ) -> PackageOutcome:
        """Install ``bundle`` into the app, or upgrade the version installed; a dry run
        reports the changes and writes nothing."""
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        desired = desired_items(bundle)
        self._check(desired)
        before = await self._record(tenant, app, bundle.name)
        if before is not None and version_order(bundle.version) < version_order(before.version):
            raise Conflict(
                f"version {before.version} of {bundle.name!r} is installed, newer than "
                f"{bundle.version}: uninstall it first to go back",
                details={"package": bundle.name, "installed": before.version},
            )
        state = await self._state(tenant, app, desired.types)
        now = self.clock.now_ms()
        built = self._built(tenant, app, desired, state, now)
        wanted = {ref: Entry(item, item_hash(item)) for ref, (_, item) in built.items()}
        decided = plan(
            wanted,
            state.entries,
            {} if before is None else before.items,
            shared=await self._shared(tenant, app, bundle.name),
            blocked=await self._blocked(tenant, desired),
        )
        created_secrets: set[str] = set()
        if not dry_run:
            record = InstallRecord(
                id=new_id() if before is None else before.id,
                tenant_id=tenant.id,
                app_id=app.id,
                app=app.name,
                name=bundle.name,
                version=bundle.version,
                items=decided.record,
                installed_at=now if before is None else before.installed_at,
                updated_at=now,
            )
            writes = self._writes(record, decided, built, state, now, created_secrets)
            await self.store.apply(writes)
            self._forget()
            await self.audit.record(
                caller,
                AuditAction.PACKAGE_INSTALL,
                record.id,
                tenant.id,
                app=app.name,
                package=bundle.name,
                version=bundle.version,
                previous_version=None if before is None else before.version,
                changes=_counts(decided),
            )
        else:
            created_secrets = {
                _secret_name(ref)
                for ref in decided.of(Change.CREATE)
                if ref.kind == ItemKind.ACTIONS
                or (ref.kind == ItemKind.SOURCES and has_shared_secret(built[ref][0].spec))
            }
        return PackageOutcome(
            bundle.name,
            bundle.version,
            None if before is None else before.version,
            app.name,
            dry_run,
            sorted(decided.changes.values(), key=lambda c: c.ref),
            await self._placeholders(app, bundle.placeholders, created_secrets),
        )

    # -- uninstall ----------------------------------------------------------------------------
    async def uninstall(
        self, caller: Caller, tenant: Tenant, app_name: str, name: str, *, dry_run: bool
    ) -> PackageOutcome:
        """Remove what the package installed, but what the tenant changed since (or what
        something left in the app still names): those stay, reported as conflicts."""
        caller.require(Scope.ADMIN)
        app = await self.registry.app(tenant, app_name)
        before = await self._record(tenant, app, name)
        if before is None:
            raise NotFound(
                f"no package {name!r} is installed in app {app.name!r}", details={"package": name}
            )
        flag_types = [flag_parts(r.key)[1] for r in before.items if r.kind == ItemKind.TYPE_FLAGS]
        state = await self._state(tenant, app, flag_types)
        decided = plan(
            {}, state.entries, before.items, shared=await self._shared(tenant, app, name)
        )
        if not dry_run:
            now = self.clock.now_ms()
            writes = PackageWrites(before, now, keep_record=False)
            writes.deletes = decided.of(Change.DELETE)
            await self.store.apply(writes)
            self._forget()
            await self.audit.record(
                caller,
                AuditAction.PACKAGE_UNINSTALL,
                before.id,
                tenant.id,
                app=app.name,
                package=name,
                version=before.version,
                changes=_counts(decided),
            )
        return PackageOutcome(
            name,
            None,
            before.version,
            app.name,
            dry_run,
            sorted(decided.changes.values(), key=lambda c: c.ref),
            [],
        )

    async def installed(self, caller: Caller, tenant: Tenant) -> list[InstallRecord]:
        """The packages installed in the tenant's apps, by app and name."""
        caller.require(Scope.ADMIN)
        return await self.store.installs(tenant.id)

    # -- helpers ------------------------------------------------------------------------------
    def _check(self, desired: DesiredItems) -> None:
        """What the input models cannot know, checked as the catalogs check a create."""
        for key, one_type in desired.types.items():
            try:
                check_template(None if one_type.template is None else one_type.template.source())
            except InvalidInput as exc:
                raise under(f"items.types.{key}", exc) from exc
        for key, action in desired.actions.items():
            try:
                self.actions.check_handler(action.handler)
            except InvalidInput as exc:
                raise under(f"items.actions.{key}", exc) from exc
        for key, trigger in desired.triggers.items():
            try:
                check_conditions(trigger)
            except InvalidInput as exc:
                raise under(f"items.triggers.{key}", exc) from exc

    async def _record(self, tenant: Tenant, app: App, name: str) -> InstallRecord | None:
        for record in await self.store.installs(tenant.id, app.id):
            if record.name == name:
                return record
        return None

    async def _shared(self, tenant: Tenant, app: App, name: str) -> frozenset[ItemRef]:
        return frozenset(
            ref
            for record in await self.store.installs(tenant.id, app.id)
            if record.name != name
            for ref in record.items
        )

    async def _state(self, tenant: Tenant, app: App, more_type_keys: Iterable[str]) -> _AppState:
        """The app's items, and the switches of its types' keys and of ``more_type_keys``."""
        state = _AppState()
        app_types = await self.store.app_types(app.id)
        for one_type in app_types:
            state.add(ItemRef(ItemKind.TYPES, one_type.key), one_type, type_item(one_type))
        for action in await self.store.app_actions(app.id):
            state.add(ItemRef(ItemKind.ACTIONS, action.key), action, action_item(action))
        for one_set in await self.store.app_sets(app.id):
            state.add(ItemRef(ItemKind.ACTION_SETS, one_set.key), one_set, set_item(one_set))
        for trigger in await self.store.app_triggers(app.id):
            state.add(ItemRef(ItemKind.TRIGGERS, trigger.key), trigger, trigger_item(trigger.spec))
        for row in await self.store.app_sources(tenant.id, app.name):
            source = self.sources.opened(row)
            state.add(ItemRef(ItemKind.SOURCES, source.key), source, source_item(source.spec))
        keys = {t.key for t in app_types} | set(more_type_keys)
        for key, value in (await self.store.type_flags(tenant.id, keys)).items():
            state.add(ItemRef(ItemKind.TYPE_FLAGS, key), value, value)
        return state

    def _built(
        self, tenant: Tenant, app: App, desired: DesiredItems, state: _AppState, now: int
    ) -> dict[ItemRef, tuple[Any, Any]]:
        """Each bundle item as the object an install writes (keeping the id of the one it
        would replace) and that object's normal form."""
        out: dict[ItemRef, tuple[Any, Any]] = {}
        for key, action_input in desired.actions.items():
            ref = ItemRef(ItemKind.ACTIONS, key)
            action = action_from_input(action_input, app.id, now, state.objects.get(ref))
            out[ref] = (action, action_item(action))
        for key, set_input in desired.action_sets.items():
            ref = ItemRef(ItemKind.ACTION_SETS, key)
            one_set = _action_set(set_input, app, state.objects.get(ref), now)
            out[ref] = (one_set, set_item(one_set))
        for key, type_input in desired.types.items():
            ref = ItemRef(ItemKind.TYPES, key)
            one_type = type_from_input(type_input, app.id, now, state.objects.get(ref))
            out[ref] = (one_type, type_item(one_type))
        for key, trigger_input in desired.triggers.items():
            ref = ItemRef(ItemKind.TRIGGERS, key)
            trigger = _trigger(trigger_input, tenant, app, state.objects.get(ref), now)
            out[ref] = (trigger, trigger_item(trigger.spec))
        for key, spec in desired.sources.items():
            ref = ItemRef(ItemKind.SOURCES, key)
            source = _source(spec, tenant, app, state.objects.get(ref), now)
            out[ref] = (source, source_item(source.spec))
        for key, value in desired.type_flags.items():
            out[ItemRef(ItemKind.TYPE_FLAGS, key)] = (value, value)
        return out

    async def _blocked(self, tenant: Tenant, desired: DesiredItems) -> dict[ItemRef, str]:
        """Switches that cannot be set here: of a unit the tenant lacks, or turning on a
        type before the general settings it needs are set (docs/settings.md)."""
        units = await self.store.unit_keys(tenant.id)
        present = await self.store.global_values(tenant.id)
        blocked: dict[ItemRef, str] = {}
        for key, value in desired.type_flags.items():
            scope, type_key = flag_parts(key)
            ref = ItemRef(ItemKind.TYPE_FLAGS, key)
            if scope.startswith(UNIT_PREFIX) and scope[len(UNIT_PREFIX) :] not in units:
                blocked[ref] = f"no unit {scope[len(UNIT_PREFIX) :]!r} in this tenant"
                continue
            providers = (Provider(p) for p in desired.types[type_key].providers)
            missing = missing_general(provider_needs(providers), present) if value else []
            if missing:
                blocked[ref] = f"needs these general settings set first: {', '.join(missing)}"
        return blocked

    def _writes(
        self,
        record: InstallRecord,
        decided: Plan,
        built: dict[ItemRef, tuple[Any, Any]],
        state: _AppState,
        now: int,
        created_secrets: set[str],
    ) -> PackageWrites:
        writes = PackageWrites(record, now)
        writes.deletes = decided.of(Change.DELETE)
        for ref, change in sorted(decided.changes.items()):
            if change.change not in WRITES - {Change.DELETE}:
                continue
            is_new = change.change == Change.CREATE
            stored, _ = built[ref]
            match ref.kind:
                case ItemKind.ACTIONS:
                    secret, replace_secret = self._secret(stored, state.objects.get(ref))
                    if is_new and secret is not None:
                        created_secrets.add(_secret_name(ref))
                    writes.actions.append((stored, secret, replace_secret, is_new))
                case ItemKind.ACTION_SETS:
                    writes.action_sets.append((stored, is_new))
                case ItemKind.TYPES:
                    writes.types.append((stored, is_new))
                case ItemKind.TRIGGERS:
                    writes.triggers.append((stored, is_new))
                case ItemKind.SOURCES:
                    before = state.objects.get(ref)
                    if has_shared_secret(stored.spec) and (
                        before is None or before.spec.verification != stored.spec.verification
                    ):
                        created_secrets.add(_secret_name(ref))
                    writes.sources.append((self.sources.stored(stored), is_new))
                case ItemKind.TYPE_FLAGS:
                    writes.type_flags.append((ref.key, bool(stored)))
        return writes

    def _secret(
        self, action: ActionDefinition, before: ActionDefinition | None
    ) -> tuple[bytes | None, bool]:
        """A webhook handler's signing secret: a new one when the action becomes a webhook
        (never one from a bundle), the one it has when it stays one, none otherwise."""
        is_webhook = isinstance(action.handler, WebhookHandler)
        was_webhook = before is not None and isinstance(before.handler, WebhookHandler)
        if is_webhook and was_webhook:
            return None, False
        if not is_webhook:
            return None, was_webhook
        sealed = self.actions.box.seal(
            generate_signing_secret().encode(), sealed_for(action.app_id, action_owner(action.id))
        )
        return sealed, True

    async def _placeholders(
        self, app: App, placeholders: list[Placeholder], created_secrets: set[str]
    ) -> list[FilledPlaceholder]:
        kinds = await self.store.credential_kinds(app.id)
        out = []
        for one in placeholders:
            match one.kind:
                case PlaceholderKind.CREDENTIALS:
                    filled = one.provider is not None and one.provider.value in kinds
                case PlaceholderKind.WEBHOOK_SECRET:
                    key = one.name.removeprefix("actions.").removesuffix(".handler.secret")
                    filled = _secret_name(ItemRef(ItemKind.ACTIONS, key)) not in created_secrets
                case PlaceholderKind.SOURCE_SECRET:
                    filled = one.name not in created_secrets
            out.append(FilledPlaceholder(one, filled))
        return out

    def _forget(self) -> None:
        """This process sees what an install wrote at once (others within their caches'
        second)."""
        self.types.lookups.invalidate()
        self.actions.lookups.invalidate()
        self.triggers.forget()
        self.sources.forget()
        self.forget_settings()


def _counts(decided: Plan) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in decided.changes.values():
        counts[change.change.value] = counts.get(change.change.value, 0) + 1
    return counts


def _action_set(data: ActionSetInput, app: App, before: ActionSet | None, now: int) -> ActionSet:
    if before is None:
        return ActionSet(new_id(), app.id, data.key, tuple(data.actions), now, now)
    return ActionSet(before.id, app.id, data.key, tuple(data.actions), before.created_at, now)


def _secret_name(ref: ItemRef) -> str:
    """How a secret an install made is named among its placeholders."""
    if ref.kind == ItemKind.SOURCES:
        return source_secret_placeholder(ref.key)
    return f"actions.{ref.key}.handler.secret"


def _source(spec: SourceSpecs, tenant: Tenant, app: App, before: Source | None, now: int) -> Source:
    """A source as ``SourceCatalog.create`` makes it for the installing app, or a change of
    ``before`` that keeps the secret its host holds while the way of verifying stays."""
    spec = spec.model_copy(update={"app": app.name})
    if before is None:
        return Source(new_id(), tenant.id, spec, 1, now, now)
    if verification_view(before.spec) == verification_view(spec) and spec.kind == before.spec.kind:
        spec = spec.model_copy(update={"verification": before.spec.verification})
    return Source(before.id, tenant.id, spec, before.version + 1, before.created_at, now)


def _trigger(
    data: TriggerInput, tenant: Tenant, app: App, before: Trigger | None, now: int
) -> Trigger:
    if before is None:
        return Trigger(new_id(), tenant.id, app.id, data, 1, now, now)
    return Trigger(before.id, tenant.id, app.id, data, before.version + 1, before.created_at, now)
