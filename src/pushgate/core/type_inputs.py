"""A notification type as stored, and what a caller may send to define, change or preview
one (docs/types.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from pydantic import Field, StringConstraints, field_validator, model_validator

from pushgate.core.audience import ShortText
from pushgate.core.inputs import ExternalId, Locale, Strict
from pushgate.core.messages import Priority
from pushgate.core.models import Provider
from pushgate.core.notification_input import (
    MAX_OVERRIDES_BYTES,
    MAX_TTL_SECONDS,
    ActionKey,
    TypeKey,
)
from pushgate.core.templates import MAX_DATA_BYTES


@dataclass(frozen=True, slots=True)
class NotificationType:
    """A kind of notification of one app: the defaults a send of it takes where the
    request is silent, the providers it may reach (empty: all), whether people may opt out,
    and its template. ``enabled`` is its default switch; ``version`` grows with each change."""

    id: str
    app_id: str
    key: str
    name: str
    description: str
    enabled: bool
    priority: Priority | None
    ttl: int | None
    collapse_key: str | None
    action_set: str | None
    providers: tuple[str, ...]
    opt_out_allowed: bool
    template: dict[str, Any] | None
    version: int
    created_at: int
    updated_at: int


# A template's source may be longer than what it renders (tags, conditions).
SourceText = Annotated[str, StringConstraints(max_length=8192)]
Description = Annotated[str, StringConstraints(max_length=1024)]
CollapseKey = Annotated[str, StringConstraints(max_length=64)]
Ttl = Annotated[int, Field(ge=0, le=MAX_TTL_SECONDS)]


class TemplateText(Strict):
    """The texts of a template, or of one of its locale variants: Jinja2 sources."""

    title: SourceText | None = None
    subtitle: SourceText | None = None
    body: SourceText | None = None


class TemplateInput(TemplateText):
    """A type's template, in the shape of a notification's content."""

    data: dict[str, Any] = Field(
        default_factory=dict, description="Added to the notification's data; strings are templates."
    )
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        max_length=6,
        description="Per provider, as a notification's overrides; strings are templates.",
    )
    locales: dict[Locale, TemplateText] = Field(default_factory=dict, max_length=100)

    @field_validator("data")
    @classmethod
    def _data(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(orjson.dumps(value)) > MAX_DATA_BYTES * 2:
            raise ValueError(f"data exceeds {MAX_DATA_BYTES * 2} bytes as JSON")
        return value

    @field_validator("overrides")
    @classmethod
    def _overrides(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        unknown = set(value) - {p.value for p in Provider}
        if unknown:
            raise ValueError(f"unknown provider in overrides: {', '.join(sorted(unknown))}")
        if len(orjson.dumps(value)) > MAX_OVERRIDES_BYTES * 2:
            raise ValueError(f"overrides exceed {MAX_OVERRIDES_BYTES * 2} bytes as JSON")
        return value

    def source(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


class TypeFields(Strict):
    description: Description = ""
    enabled: bool = Field(default=True, description="The type's default switch.")
    priority: Priority | None = Field(default=None, description="Default priority of a send.")
    ttl: Ttl | None = Field(default=None, description="Default TTL of a send, in seconds.")
    collapse_key: CollapseKey | None = None
    action_set: ActionKey | None = Field(
        default=None, description="The key of an action set of the app a send shows."
    )
    providers: list[Provider] = Field(
        default_factory=list,
        max_length=6,
        description="The provider kinds a send may reach; empty: all.",
    )
    opt_out_allowed: bool = Field(
        default=True, description="Whether people may opt out (false for a security alert)."
    )
    template: TemplateInput | None = None

    @field_validator("providers")
    @classmethod
    def _distinct(cls, value: list[Provider]) -> list[Provider]:
        if len(set(value)) != len(value):
            raise ValueError("a provider is listed twice")
        return value


class TypeInput(TypeFields):
    """A new type; its key is fixed once created."""

    key: TypeKey
    name: ShortText = Field(default="", description="A name for people; default: the key.")


# Fields a change may set to null (clearing the default); the others only take values.
NULLABLE = frozenset({"priority", "ttl", "collapse_key", "action_set", "template"})


class TypePatch(TypeFields):
    """A change to a type: a field left out stays, ``null`` clears a default or the
    template. The key cannot change."""

    name: ShortText | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_null_switches(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for name, given in value.items():
                if given is None and name not in NULLABLE and name in cls.model_fields:
                    raise ValueError(f"{name} cannot be null")
        return value


class PreviewInput(Strict):
    """What a preview renders a type's template for."""

    data: dict[str, Any] = Field(default_factory=dict)
    user: ExternalId | None = Field(default=None, description="A user's external id.")
    device: ShortText | None = Field(default=None, description="A device's id.")
    locale: Locale | None = Field(
        default=None, description="Render only the variant this locale chooses."
    )
