"""Why a provider would refuse a message, found when a notification is accepted.

Two kinds, each answered its own way (``core.sending``): a payload over the provider's size
limit, and a field or key the provider does not take as given (an FCM-reserved ``data`` key,
an unknown APNs push type in ``overrides``…), which names that field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class TooLarge:
    """The rendered payload is over the provider's size limit (the reason gives both)."""

    reason: str
    kind: Literal["too_large"] = "too_large"


@dataclass(frozen=True, slots=True)
class FieldRefused:
    """``field`` (a dotted path in the request: ``data.from``, ``overrides.apns.aps``) is
    something the provider refuses."""

    field: str
    reason: str
    kind: Literal["field_refused"] = "field_refused"


PayloadProblem = TooLarge | FieldRefused
