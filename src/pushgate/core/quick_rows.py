"""The fast path of bulk import: rows that are plainly valid skip the full validation.

Every import row is held to the rules of an API registration: the ``DeviceInput`` model,
then the token rules of ``core/tokens.py``. The model costs more per row than writing it,
and most rows of a big import are plain: known fields, string values, a token of a
provider without a Web Push subscription. Those are checked here against the same rules
(taken from the model's own JSON schema, so the two cannot drift apart) and built
directly. A row that is not plainly valid in every field gets no verdict here and goes
the full way, so every rejection and its message is the full validation's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pushgate.core import tokens
from pushgate.core.inputs import DeviceInput, check_timezone, kept_fields
from pushgate.core.models import Device, Platform, Provider
from pushgate.core.registry import new_device
from pushgate.errors import InvalidInput

# A checked row: the device, its user's external id, its user's alias in the app, and the
# fields an existing registration of its token keeps (those the row does not give).
QuickRow = tuple[Device, str | None, str | None, frozenset[str]]

_SCHEMA: dict[str, Any] = DeviceInput.model_json_schema()["properties"]
PLAIN_FIELDS = frozenset(
    {"provider", "token", "platform", "user", "user_alias", "locale", "timezone"}
    | {"topics", "tags", "app_version"}
)
# A field added to the model must be taken up in PLAIN_FIELDS, or left to the full path
# here, on purpose (tests/core/test_quick_rows.py checks every field is one or the other).
FULL_PATH_FIELDS = frozenset({"subscription", "old_token"})
_PROVIDERS = {p.value: p for p in Provider if p is not Provider.WEBPUSH}
_PLATFORMS = {p.value: p for p in Platform}


def _is_utf8(value: Any) -> bool:
    """False for a string (or a list holding one) that is not valid Unicode text: a lone
    surrogate, which JSON's ``\\ud800`` decodes to. The model refuses those, and neither
    database could store them."""
    if type(value) is str:
        if value.isascii():
            return True
        try:
            value.encode()
        except UnicodeEncodeError:
            return False
        return True
    if type(value) is list:
        return all(_is_utf8(item) for item in value)
    return True


def _string_rule(name: str) -> dict[str, Any]:
    rule: dict[str, Any] = _SCHEMA[name]
    return next(r for r in rule.get("anyOf", [rule]) if r.get("type") == "string")


def _length_check(name: str) -> Callable[[Any], bool]:
    """The optional field's rule: None, or a string within the schema's bounds."""
    rule = _string_rule(name)
    shortest, longest = rule.get("minLength", 0), rule.get("maxLength", 1 << 62)
    return lambda v: v is None or (type(v) is str and shortest <= len(v) <= longest)


def _pattern_check(name: str) -> Callable[[Any], bool]:
    # The model's patterns are anchored with ^…$; fullmatch also refuses a trailing
    # newline, as the model's regex engine does.
    matches = re.compile(_string_rule(name)["pattern"]).fullmatch
    return lambda v: v is None or (type(v) is str and matches(v) is not None)


def _list_check(name: str) -> Callable[[Any], bool]:
    rule = _SCHEMA[name]
    matches, most = re.compile(rule["items"]["pattern"]).fullmatch, rule["maxItems"]
    # None is refused by the model (absent takes the default, no items).
    return lambda v: (
        type(v) is list
        and len(v) <= most
        and all(type(i) is str and matches(i) is not None for i in v)
    )


# The rules of the fields given; an absent field takes its default, which is valid.
_CHECKS: dict[str, Callable[[Any], bool]] = {
    "token": _length_check("token"),
    "user": _length_check("user"),
    "user_alias": _length_check("user_alias"),
    "app_version": _length_check("app_version"),
    "locale": _pattern_check("locale"),
    "topics": _list_check("topics"),
    "tags": _list_check("tags"),
}


class QuickRows:
    """Checks and builds plainly valid import rows of one app."""

    def __init__(self, tenant_id: str, app_id: str, *, allow_private_targets: bool) -> None:
        self.tenant_id = tenant_id
        self.app_id = app_id
        self.allow_private_targets = allow_private_targets
        self._zones: set[str] = set()  # time zone names already found valid

    def device(self, fields: dict[str, Any]) -> QuickRow | None:
        """The row's device when every field is plainly valid; None leaves the verdict
        to the full validation."""
        if not fields.keys() <= PLAIN_FIELDS:
            return None
        if not all(_is_utf8(value) for value in fields.values()):
            return None
        name, token, platform = fields.get("provider"), fields.get("token"), fields.get("platform")
        provider = _PROVIDERS.get(name) if type(name) is str else None
        if provider is None or type(token) is not str:
            return None
        if platform is not None and (type(platform) is not str or platform not in _PLATFORMS):
            return None
        for field, value in fields.items():
            check = _CHECKS.get(field)
            if check is not None and not check(value):
                return None
        timezone = fields.get("timezone")
        if timezone is not None and not self._is_zone(timezone):
            return None
        try:
            token = tokens.normalise_token(
                provider, token, allow_insecure=self.allow_private_targets
            )
        except InvalidInput:
            return None
        device = new_device(
            self.tenant_id,
            self.app_id,
            provider,
            token,
            None,
            _PLATFORMS[platform] if platform is not None else None,
            fields.get("locale"),
            timezone,
            fields.get("topics") or [],
            fields.get("tags") or [],
            fields.get("app_version"),
        )
        return device, fields.get("user"), fields.get("user_alias"), kept_fields(fields)

    def _is_zone(self, name: object) -> bool:
        if type(name) is not str:
            return False
        if name not in self._zones:
            try:
                check_timezone(name)
            except ValueError:
                return False
            self._zones.add(name)
        return True
