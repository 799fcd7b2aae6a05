"""The known settings: one table that the API, the command line, the console, the docs and
validation all read (docs/settings.md).

A setting lives at a scope: ``global`` (the tenant) or ``unit:<key>``. General settings
may be set globally only; a notification type's switch (``types.<key>.enabled``) also per
unit, where the nearest value up the unit chain wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, assert_never
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pushgate.errors import InvalidInput

GLOBAL = "global"
UNIT_PREFIX = "unit:"
TYPE_FLAG_PREFIX = "types."
TYPE_FLAG_SUFFIX = ".enabled"
# core/notification_input.py TypeKey: the key of a notification type.
TYPE_KEY = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
UNIT_KEY_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
MASK = "********"


class SettingScope(StrEnum):
    """Where a setting may be set."""

    GLOBAL_ONLY = "global"
    GLOBAL_AND_UNIT = "global_and_unit"


class SettingKind(StrEnum):
    BOOL = "bool"
    URL = "url"
    SECRET = "secret"  # noqa: S105 (a kind of setting, not a password)
    DAYS = "days"
    TIME_OF_DAY = "time_of_day"
    TIMEZONE = "timezone"


class SettingScopeRefused(InvalidInput):
    """A general setting given at a unit: it may be set globally only."""

    code = "setting_scope"


class UnknownSetting(InvalidInput):
    code = "unknown_setting"


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One known setting. ``name`` of a type switch is the pattern ``types.<key>.enabled``."""

    name: str
    kind: SettingKind
    scope: SettingScope
    description: str
    default: Any = None

    @property
    def is_secret(self) -> bool:
        return self.kind is SettingKind.SECRET

    def allowed_at(self, scope: str) -> bool:
        match self.scope:
            case SettingScope.GLOBAL_ONLY:
                return scope == GLOBAL
            case SettingScope.GLOBAL_AND_UNIT:
                return True
            case _:
                assert_never(self.scope)


TYPE_FLAG = SettingSpec(
    "types.<key>.enabled",
    SettingKind.BOOL,
    SettingScope.GLOBAL_AND_UNIT,
    "Whether notifications of the type are sent; the nearest value up the unit chain wins, "
    "then the global value, then the type's own default.",
    default=True,
)

TRIGGER_FLAG_PREFIX = "triggers."
TRIGGER_FLAG = SettingSpec(
    "triggers.<key>.enabled",
    SettingKind.BOOL,
    SettingScope.GLOBAL_AND_UNIT,
    "Whether triggers of the key send to recipients here; the nearest value up the unit "
    "chain wins, then the global value, then the trigger's own enabled (docs/events.md).",
    default=True,
)

GENERAL: tuple[SettingSpec, ...] = (
    SettingSpec(
        "webhook.url",
        SettingKind.URL,
        SettingScope.GLOBAL_ONLY,
        "The delivery endpoint of webhook devices whose app's webhook credentials name none.",
    ),
    SettingSpec(
        "webhook.authorization",
        SettingKind.SECRET,
        SettingScope.GLOBAL_ONLY,
        "The Authorization header value sent to that endpoint when the app's webhook "
        "credentials give none; sealed at rest, shown masked.",
    ),
    SettingSpec(
        "retention_days",
        SettingKind.DAYS,
        SettingScope.GLOBAL_ONLY,
        "Days the tenant's notifications are kept (undelivered ones retried till then); "
        "overrides the instance's retention_days.",
    ),
    SettingSpec(
        "quiet_hours.start",
        SettingKind.TIME_OF_DAY,
        SettingScope.GLOBAL_ONLY,
        "Default start of quiet hours (HH:MM, in the recipient's time zone).",
    ),
    SettingSpec(
        "quiet_hours.end",
        SettingKind.TIME_OF_DAY,
        SettingScope.GLOBAL_ONLY,
        "Default end of quiet hours (HH:MM).",
    ),
    SettingSpec(
        "quiet_hours.urgent_passes",
        SettingKind.BOOL,
        SettingScope.GLOBAL_ONLY,
        "Whether notifications of high priority are sent during the default quiet hours "
        "(high is every send's default priority, so this is off unless set).",
        default=False,
    ),
    SettingSpec(
        "interactions.forward",
        SettingKind.BOOL,
        SettingScope.GLOBAL_ONLY,
        "Whether devices' interactions, once recorded, are POSTed in batches to the "
        "operational webhook (docs/reports.md).",
        default=False,
    ),
    SettingSpec(
        "default_timezone",
        SettingKind.TIMEZONE,
        SettingScope.GLOBAL_ONLY,
        "The IANA time zone of recipients whose device and user name none.",
    ),
)

_BY_NAME = {spec.name: spec for spec in GENERAL}


def type_flag_name(type_key: str) -> str:
    return f"{TYPE_FLAG_PREFIX}{type_key}{TYPE_FLAG_SUFFIX}"


def type_of_flag(name: str) -> str | None:
    """The type key a switch's name holds, or None when ``name`` is no switch's."""
    if not (name.startswith(TYPE_FLAG_PREFIX) and name.endswith(TYPE_FLAG_SUFFIX)):
        return None
    key = name[len(TYPE_FLAG_PREFIX) : -len(TYPE_FLAG_SUFFIX)]
    return key if TYPE_KEY.fullmatch(key) else None


def trigger_flag_name(trigger_key: str) -> str:
    return f"{TRIGGER_FLAG_PREFIX}{trigger_key}{TYPE_FLAG_SUFFIX}"


def trigger_of_flag(name: str) -> str | None:
    """The trigger key a trigger switch's name holds, or None."""
    if not (name.startswith(TRIGGER_FLAG_PREFIX) and name.endswith(TYPE_FLAG_SUFFIX)):
        return None
    key = name[len(TRIGGER_FLAG_PREFIX) : -len(TYPE_FLAG_SUFFIX)]
    return key if TYPE_KEY.fullmatch(key) else None


def spec_of(name: str) -> SettingSpec:
    """The spec of a setting's name; 422 naming it when it is unknown."""
    found = _BY_NAME.get(name)
    if found is not None:
        return found
    if type_of_flag(name) is not None:
        return TYPE_FLAG
    if trigger_of_flag(name) is not None:
        return TRIGGER_FLAG
    raise UnknownSetting(
        f"unknown setting {name!r}",
        details={"setting": name, "known": [*sorted(_BY_NAME), TYPE_FLAG.name, TRIGGER_FLAG.name]},
    )


def unit_scope(unit_key: str) -> str:
    return UNIT_PREFIX + unit_key


def check_value(name: str, value: Any, scope: str) -> Any:
    """``value`` as stored, after checking that ``name`` is known, may be set at ``scope``
    and that the value fits its kind; each refusal a 422 naming the setting."""
    spec = spec_of(name)
    if not spec.allowed_at(scope):
        raise SettingScopeRefused(
            f"{name!r} is a general setting: it may be set at the global scope only",
            details={"setting": name, "scope": scope, "allowed": [GLOBAL]},
        )
    try:
        return _CHECKS[spec.kind](value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {exc}", details={"setting": name, "field": name}) from exc


def _bool(value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _url(value: Any) -> Any:
    if not isinstance(value, str) or len(value) > 2048:
        raise ValueError("must be a URL of at most 2048 characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http or https URL")
    return value


def _secret(value: Any) -> Any:
    if not isinstance(value, str) or not 1 <= len(value) <= 4096:
        raise ValueError("must be a string of 1 to 4096 characters")
    return value


def _days(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        raise ValueError("must be a whole number of days from 1 to 3650")
    return value


def _time_of_day(value: Any) -> Any:
    if not isinstance(value, str) or not _HH_MM.fullmatch(value):
        raise ValueError("must be a time of day as HH:MM")
    return value


def _timezone(value: Any) -> Any:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise ValueError("must be an IANA time zone name")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an IANA time zone name") from exc
    return value


_CHECKS: dict[SettingKind, Callable[[Any], Any]] = {
    SettingKind.BOOL: _bool,
    SettingKind.URL: _url,
    SettingKind.SECRET: _secret,
    SettingKind.DAYS: _days,
    SettingKind.TIME_OF_DAY: _time_of_day,
    SettingKind.TIMEZONE: _timezone,
}


def shown(name: str, value: Any) -> Any:
    """A stored value as read back: a secret masked."""
    return MASK if spec_of(name).is_secret and value is not None else value
