"""Request and answer bodies of units and settings by scope (docs/settings.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from pushgate.api.schemas import iso
from pushgate.core.scoped_settings import Effective
from pushgate.core.units import Unit


class UnitOut(BaseModel):
    id: str
    key: str
    name: str
    parent: str | None
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, unit: Unit) -> UnitOut:
        return cls(
            id=unit.id,
            key=unit.key,
            name=unit.name,
            parent=unit.parent,
            created_at=iso(unit.created_at),
            updated_at=iso(unit.updated_at),
        )


class SettingsOut(BaseModel):
    scope: str = Field(description="`global` or `unit:<key>`.")
    values: dict[str, Any] = Field(description="The values set at the scope; secrets masked.")


class SettingsIn(BaseModel):
    values: dict[str, Any] = Field(
        max_length=256, description="Every value of the scope; names left out are unset."
    )


class SettingIn(BaseModel):
    name: str = Field(max_length=128)
    value: Any = Field(description="The new value; null unsets it.")


class EffectiveOut(BaseModel):
    name: str
    value: Any
    source: str = Field(description="`unit:<key>`, `global` or `default`.")

    @classmethod
    def of(cls, item: Effective) -> EffectiveOut:
        return cls(name=item.name, value=item.value, source=item.source)


class EffectiveSettingsOut(BaseModel):
    scope: str = Field(description="Where the values were resolved: `global` or `unit:<key>`.")
    unit: str | None
    settings: list[EffectiveOut]
