"""The package bundle (docs/packages.md, "Format"): a versioned JSON document of an app's
configuration, its items by kind under stable keys, and no secrets.

Each item is kept in one normal form, the one an export writes: the same form is made
from a stored object and from a bundle's item (through the objects an install would
write), so that the hash of an item says whether two of them are the same
(:func:`item_hash`). Items reuse the API's own input models, so a bundle's item is what
``POST /v1/apps/{app}/types`` (and the others) take, less the key the bundle's map holds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

import orjson
from pydantic import Field, StringConstraints, ValidationError

from pushgate.core.action_inputs import ActionInput, ActionSetInput
from pushgate.core.actions import ActionDefinition, ActionSet, handler_fields
from pushgate.core.event_inputs import TriggerInput, TriggerKey
from pushgate.core.inbound_inputs import (
    DataNotifierSource,
    PublicKey,
    SourceInput,
    SourceKey,
    StandardWebhooksSource,
)
from pushgate.core.inbound_sources import (
    generated_hs256_secret,
    generated_webhook_secret,
    verification_view,
)
from pushgate.core.inputs import NAME_PATTERN, Strict
from pushgate.core.models import Provider
from pushgate.core.notification_input import ActionKey, TypeKey
from pushgate.core.settings_catalog import GLOBAL, UNIT_PREFIX
from pushgate.core.type_inputs import NotificationType, TypeInput
from pushgate.errors import InvalidInput

FORMAT = 1
# Semantic Versioning 2.0.0 (https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string),
# build metadata left out of ordering as the spec says.
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
PackageName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
Version = Annotated[str, StringConstraints(pattern=SEMVER.pattern, max_length=64)]
# Where a type's switch is set: ``global`` or ``unit:<key>`` (docs/settings.md).
FlagScope = Annotated[
    str, StringConstraints(pattern=rf"^({GLOBAL}|{UNIT_PREFIX}[a-z0-9][a-z0-9._-]{{0,63}})$")
]
MAX_ITEMS = 500
M = TypeVar("M", bound=Strict)
SourceSpecs = DataNotifierSource | StandardWebhooksSource


class ItemKind(StrEnum):
    """The kinds of item a bundle holds, in the order an install writes them (what an
    item names is written before it)."""

    ACTIONS = "actions"
    ACTION_SETS = "action_sets"
    TYPES = "types"
    TRIGGERS = "triggers"
    SOURCES = "sources"
    TYPE_FLAGS = "type_flags"


@dataclass(frozen=True, slots=True, order=True)
class ItemRef:
    kind: ItemKind
    key: str

    @property
    def name(self) -> str:
        """How an install record and a report name the item: ``types/incident``."""
        return f"{self.kind.value}/{self.key}"

    @classmethod
    def parse(cls, name: str) -> ItemRef:
        kind, _, key = name.partition("/")
        return cls(ItemKind(kind), key)


def flag_key(scope: str, type_key: str) -> str:
    """A type switch's item key: ``global/incident`` or ``unit:emea/incident``."""
    return f"{scope}/{type_key}"


def flag_parts(key: str) -> tuple[str, str]:
    scope, _, type_key = key.rpartition("/")
    return scope, type_key


class PlaceholderKind(StrEnum):
    CREDENTIALS = "credentials"
    WEBHOOK_SECRET = "webhook_signing_secret"  # noqa: S105 - a kind's name, not a secret
    SOURCE_SECRET = "source_secret"  # noqa: S105 - a kind's name, not a secret


class Placeholder(Strict):
    """A secret the bundle leaves out, named for the installer to fill: the app's
    credentials of a provider (``credentials.apns``), an action's webhook signing secret
    (``actions.approve.handler.secret``) or an inbound source's shared secret
    (``sources.scheduler.verification.secret``)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=160)]
    kind: PlaceholderKind
    provider: Provider | None = None


class BundleSource(Strict):
    app: Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
    instance: Annotated[str, StringConstraints(max_length=512)] | None = None


class BundleItems(Strict):
    """Items by kind, each map keyed by the item's key; the bodies are checked item by
    item (:func:`desired_items`) so a refusal names the item's path."""

    actions: dict[ActionKey, dict[str, Any]] = Field(default_factory=dict, max_length=MAX_ITEMS)
    action_sets: dict[ActionKey, dict[str, Any]] = Field(default_factory=dict, max_length=MAX_ITEMS)
    types: dict[TypeKey, dict[str, Any]] = Field(default_factory=dict, max_length=MAX_ITEMS)
    triggers: dict[TriggerKey, dict[str, Any]] = Field(default_factory=dict, max_length=MAX_ITEMS)
    sources: dict[SourceKey, dict[str, Any]] = Field(default_factory=dict, max_length=MAX_ITEMS)
    type_flags: dict[FlagScope, dict[TypeKey, bool]] = Field(
        default_factory=dict, max_length=MAX_ITEMS
    )


class Bundle(Strict):
    """A package of an app's configuration (docs/packages.md)."""

    format: Literal[1] = Field(description="The bundle format; this pushgate reads 1.")
    name: PackageName
    version: Version = Field(description="Semantic version (https://semver.org).")
    source: BundleSource
    description: Annotated[str, StringConstraints(max_length=1024)] = ""
    placeholders: list[Placeholder] = Field(default_factory=list, max_length=MAX_ITEMS)
    items: BundleItems


def version_order(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    """A sort key of a semantic version: a pre-release sorts before its release, its
    parts compared numerically or as text (SemVer 2.0.0 §11)."""
    found = SEMVER.match(version)
    if found is None:
        raise ValueError(f"not a semantic version: {version!r}")
    major, minor, patch, pre = found.group(1, 2, 3, 4)
    parts: tuple[tuple[int, int | str], ...] = ()
    if pre:
        parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return int(major), int(minor), int(patch), 0 if pre else 1, parts


# -- normal forms ---------------------------------------------------------------------------
def type_item(item: NotificationType) -> dict[str, Any]:
    return {
        "name": item.name,
        "description": item.description,
        "enabled": item.enabled,
        "priority": None if item.priority is None else item.priority.value,
        "ttl": item.ttl,
        "collapse_key": item.collapse_key,
        "action_set": item.action_set,
        "providers": list(item.providers),
        "opt_out_allowed": item.opt_out_allowed,
        "template": item.template,
    }


def action_item(action: ActionDefinition) -> dict[str, Any]:
    """An action without its webhook signing secret (never in a bundle)."""
    text_input = action.text_input
    return {
        "title": action.title,
        "titles": dict(action.titles),
        "handler": {"kind": action.handler.kind, **handler_fields(action.handler)},
        "foreground": action.foreground,
        "destructive": action.destructive,
        "authentication_required": action.authentication_required,
        "text_input": None
        if text_input is None
        else {"placeholder": text_input.placeholder, "button_title": text_input.button_title},
        "allow_repeats": action.allow_repeats,
        "deadline_seconds": action.deadline_seconds,
    }


def set_item(item: ActionSet) -> dict[str, Any]:
    return {"actions": list(item.action_keys)}


def trigger_item(spec: TriggerInput) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude={"key"}, exclude_none=True)


def source_item(spec: SourceSpecs) -> dict[str, Any]:
    """A source of the app without its secret: an HS256 or Standard Webhooks secret is
    left out (a placeholder), a public key, which is no secret, stays. The app is the one
    the package is installed into, so it is left out too."""
    shown = spec.model_dump(mode="json", exclude={"key", "app", "verification"})
    return {**shown, "verification": verification_view(spec)}


def source_secret_placeholder(key: str) -> str:
    return f"sources.{key}.verification.secret"


def has_shared_secret(spec: SourceSpecs) -> bool:
    """Whether the source is verified with a secret both sides hold (not a public key)."""
    return not (isinstance(spec, DataNotifierSource) and isinstance(spec.verification, PublicKey))


def item_hash(item: Any) -> str:
    """The SHA-256 of an item's normal form as canonical JSON (keys sorted)."""
    return hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS)).hexdigest()


def references(ref: ItemRef, item: Mapping[str, Any] | bool) -> list[ItemRef]:
    """What an item names in its app: a type its action set, a set its actions, a
    trigger its type (a type switch names a key across the tenant's apps: nothing)."""
    if not isinstance(item, Mapping):
        return []
    match ref.kind:
        case ItemKind.TYPES:
            key = item.get("action_set")
            return [] if key is None else [ItemRef(ItemKind.ACTION_SETS, key)]
        case ItemKind.ACTION_SETS:
            return [ItemRef(ItemKind.ACTIONS, key) for key in item.get("actions", ())]
        case ItemKind.TRIGGERS:
            return [ItemRef(ItemKind.TYPES, item["type"])]
        case ItemKind.ACTIONS | ItemKind.SOURCES | ItemKind.TYPE_FLAGS:
            return []


# -- a bundle's items, checked ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DesiredItems:
    """A bundle's items as the API's inputs, each checked and named by its path."""

    actions: dict[str, ActionInput]
    action_sets: dict[str, ActionSetInput]
    types: dict[str, TypeInput]
    triggers: dict[str, TriggerInput]
    sources: dict[str, SourceSpecs]
    type_flags: dict[str, bool]


def desired_items(bundle: Bundle) -> DesiredItems:
    """Every item of ``bundle`` checked as the API checks it, and against the others: what
    an item names must be in the bundle too. A refusal is a 422 naming the item's path
    (``items.types.incident.ttl``)."""
    items = bundle.items
    for key, body in items.actions.items():
        handler = body.get("handler")
        if isinstance(handler, dict) and "secret" in handler:
            raise _refused(
                f"items.actions.{key}.handler.secret",
                "a bundle never carries secrets: the installer sets the signing secret",
            )
    actions = {k: _checked(ActionInput, "actions", k, v) for k, v in items.actions.items()}
    sets = {k: _checked(ActionSetInput, "action_sets", k, v) for k, v in items.action_sets.items()}
    types = {k: _checked(TypeInput, "types", k, v) for k, v in items.types.items()}
    triggers = {k: _checked(TriggerInput, "triggers", k, v) for k, v in items.triggers.items()}
    _check_names(actions, sets, types, triggers)
    sources = {k: _source(k, v) for k, v in items.sources.items()}
    flags: dict[str, bool] = {}
    for scope, values in items.type_flags.items():
        for type_key, value in values.items():
            if type_key not in types:
                raise _refused(
                    f"items.type_flags.{scope}.{type_key}", f"no type {type_key!r} in the bundle"
                )
            flags[flag_key(scope, type_key)] = value
    return DesiredItems(actions, sets, types, triggers, sources, flags)


def _check_names(
    actions: dict[str, ActionInput],
    sets: dict[str, ActionSetInput],
    types: dict[str, TypeInput],
    triggers: dict[str, TriggerInput],
) -> None:
    """What an item names is in the bundle too: a bundle installs whole anywhere."""
    for key, one_set in sets.items():
        for index, action_key in enumerate(one_set.actions):
            if action_key not in actions:
                raise _refused(
                    f"items.action_sets.{key}.actions[{index}]",
                    f"no action {action_key!r} in the bundle",
                )
    for key, one_type in types.items():
        if one_type.action_set is not None and one_type.action_set not in sets:
            raise _refused(
                f"items.types.{key}.action_set",
                f"no action set {one_type.action_set!r} in the bundle",
            )
    for key, trigger in triggers.items():
        if trigger.type not in types:
            raise _refused(f"items.triggers.{key}.type", f"no type {trigger.type!r} in the bundle")


def _source(key: str, body: dict[str, Any]) -> SourceSpecs:
    """A source item checked as ``POST /v1/sources`` checks it, with a fresh secret where
    its kind verifies with one: the bundle never carries it, so a source an install makes
    refuses every request until the installer sets the secret its host holds."""
    path = f"items.sources.{key}"
    for field_name in ("key", "app"):
        if field_name in body:
            raise _refused(f"{path}.{field_name}", "left out: the map's key and the installing app")
    verification = body.get("verification")
    if not isinstance(verification, dict):
        raise _refused(f"{path}.verification", "an object: the algorithm, or a public key")
    if "secret" in verification:
        raise _refused(
            f"{path}.verification.secret",
            "a bundle never carries secrets: the installer sets the source's secret",
        )
    if body.get("kind") == "standard-webhooks":
        verification = {"secret": generated_webhook_secret()}
    elif verification.get("alg") == "HS256":
        verification = {"alg": "HS256", "secret": generated_hs256_secret()}
    try:
        checked = SourceInput.model_validate({**body, "key": key, "verification": verification})
    except ValidationError as exc:
        first = exc.errors()[0]
        parts = [str(part) for part in first["loc"][1:]]  # past the union's tag
        where = ".".join(parts)
        raise _refused(f"{path}.{where}" if where else path, first["msg"]) from exc
    return checked.root


def _checked(model: type[M], kind: str, key: str, body: dict[str, Any]) -> M:
    path = f"items.{kind}.{key}"
    if "key" in body:
        raise _refused(f"{path}.key", "the item's key is the map's key; leave it out of the item")
    try:
        return model.model_validate({**body, "key": key})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise _refused(f"{path}.{where}" if where else path, first["msg"]) from exc


def _refused(path: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{path}: {reason}", details={"field": path, "reason": reason})


def under(path: str, exc: InvalidInput) -> InvalidInput:
    """A refusal of an item's field (``template.title``) named by its path in the bundle."""
    field = str(exc.details.get("field", ""))
    reason = str(exc.details.get("reason", exc.message))
    return _refused(f"{path}.{field}" if field else path, reason)
