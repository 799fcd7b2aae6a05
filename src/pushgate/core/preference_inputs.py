"""The bodies of ``PUT /v1/users/{id}/preferences`` and ``PUT /v1/devices/{id}/preferences``
(docs/preferences.md). A PUT replaces everything: what is left out takes its default."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator, model_validator

from pushgate.core.inputs import Strict
from pushgate.core.models import Provider
from pushgate.core.preferences import Choice, DevicePreferences, TypeChoice, UserPreferences

# core/settings_catalog.py TYPE_KEY: the key of a notification type.
TypeKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
MAX_TYPES = 256
_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class QuietHoursInput(Strict):
    """A window of the day, in the recipient's time zone, in which notifications wait;
    ``end`` before ``start`` spans midnight."""

    start: str = Field(description="HH:MM, 00:00 to 23:59.", examples=["22:00"])
    end: str = Field(description="HH:MM, 00:00 to 23:59.", examples=["07:00"])
    urgent_passes: bool = Field(
        default=False, description="Whether urgent (high priority) notifications pass."
    )

    @field_validator("start", "end")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        if not _HH_MM.fullmatch(value):
            raise ValueError("must be a time of day as HH:MM (00:00 to 23:59)")
        return value

    @model_validator(mode="after")
    def _some_window(self) -> QuietHoursInput:
        if self.start == self.end:
            raise ValueError("start and end must differ (the window would be empty)")
        return self


class TypeChoiceInput(Strict):
    choice: Choice | None = Field(
        default=None, description="`in` or `out`; null: the user's `default`."
    )
    providers_out: list[Provider] = Field(
        default_factory=list,
        max_length=len(Provider),
        description="Channels (providers) the type is not sent on, even while it is in.",
    )


class UserPreferencesInput(Strict):
    default: Choice = Field(
        default=Choice.IN, description="Whether types the user does not name are received."
    )
    types: dict[TypeKey, TypeChoiceInput] = Field(default_factory=dict, max_length=MAX_TYPES)
    quiet_hours: QuietHoursInput | None = None

    def value(self) -> UserPreferences:
        types = {
            key: TypeChoice(item.choice, tuple(sorted({p.value for p in item.providers_out})))
            for key, item in self.types.items()
        }
        quiet: dict[str, Any] | None = None
        if self.quiet_hours is not None:
            quiet = self.quiet_hours.model_dump(mode="json")
        return UserPreferences(self.default, types, quiet)


class DevicePreferencesInput(Strict):
    enabled: bool = Field(default=True, description="false: the device gets no typed notification.")
    muted_types: list[TypeKey] = Field(default_factory=list, max_length=MAX_TYPES)

    def value(self) -> DevicePreferences:
        return DevicePreferences(self.enabled, tuple(sorted(set(self.muted_types))))
