"""Response bodies of notification types (docs/types.md), as published in ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from pushgate.api.schemas import iso
from pushgate.core.type_inputs import NotificationType


class TypeOut(BaseModel):
    id: str
    key: str
    name: str
    description: str
    enabled: bool = Field(description="The type's default switch.")
    priority: str | None
    ttl: int | None
    collapse_key: str | None
    action_set: str | None
    providers: list[str] = Field(description="The provider kinds it may reach; empty: all.")
    opt_out_allowed: bool
    template: dict[str, Any] | None
    version: int = Field(description="Grows with every change.")
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, item: NotificationType) -> TypeOut:
        return cls(
            id=item.id,
            key=item.key,
            name=item.name,
            description=item.description,
            enabled=item.enabled,
            priority=None if item.priority is None else item.priority.value,
            ttl=item.ttl,
            collapse_key=item.collapse_key,
            action_set=item.action_set,
            providers=list(item.providers),
            opt_out_allowed=item.opt_out_allowed,
            template=item.template,
            version=item.version,
            created_at=iso(item.created_at),
            updated_at=iso(item.updated_at),
        )


class PreviewOut(BaseModel):
    """What the template renders: the texts, data and overrides, and the locale variants."""

    title: str | None = None
    subtitle: str | None = None
    body: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    overrides: dict[str, Any] = Field(default_factory=dict)
    locales: dict[str, dict[str, str]] = Field(default_factory=dict)
