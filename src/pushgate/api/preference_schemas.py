"""Answer bodies of user and device preferences (docs/preferences.md); the request bodies
are the input models of core/preference_inputs.py."""

from __future__ import annotations

from pydantic import BaseModel, Field

from pushgate.core.preferences import DevicePreferences, UserPreferences


class TypeChoiceOut(BaseModel):
    choice: str | None = Field(description="`in`, `out`, or null: the user's `default`.")
    providers_out: list[str]


class QuietHoursOut(BaseModel):
    start: str
    end: str
    urgent_passes: bool


class UserPreferencesOut(BaseModel):
    user: str = Field(description="The user's external id.")
    default: str = Field(description="`in` or `out`: types the user does not name.")
    types: dict[str, TypeChoiceOut]
    quiet_hours: QuietHoursOut | None

    @classmethod
    def of(cls, external_id: str, found: UserPreferences) -> UserPreferencesOut:
        document = found.document()
        quiet = None if found.quiet_hours is None else QuietHoursOut(**found.quiet_hours)
        return cls(
            user=external_id,
            default=document["default"],
            types={k: TypeChoiceOut(**v) for k, v in document["types"].items()},
            quiet_hours=quiet,
        )


class DevicePreferencesOut(BaseModel):
    device: str = Field(description="The device's id.")
    enabled: bool
    muted_types: list[str]

    @classmethod
    def of(cls, device_id: str, found: DevicePreferences) -> DevicePreferencesOut:
        return cls(device=device_id, enabled=found.enabled, muted_types=list(found.muted_types))
