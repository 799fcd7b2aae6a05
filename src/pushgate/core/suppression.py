"""Why a recipient was not sent a notification: the reasons of ``suppressed`` deliveries.

A suppressed delivery is final and counted per reason on its notification's status
(``suppressed: {reason: count}``); its kept count is under ``suppressed:<reason>``
(docs/settings.md, "Suppression").
"""

from __future__ import annotations

from enum import StrEnum

COUNT_PREFIX = "suppressed:"


class SuppressionReason(StrEnum):
    """Each reason the fan-out may withhold a delivery for, in the order it checks them."""

    #: The type is switched off at the global scope, or by its own default.
    TYPE_DISABLED = "type_disabled"
    #: The type is switched off at the recipient's unit or one of its parents.
    UNIT_DISABLED = "unit_disabled"
    #: The recipient opted out of the type, of it on the device's provider, or of types
    #: they did not name (their default is ``out``).
    OPTED_OUT = "opted_out"
    #: The device is switched off, or mutes the type.
    DEVICE_MUTED = "device_muted"


def count_state(reason: SuppressionReason) -> str:
    """The state a suppressed delivery is counted under (delivery_counts.state)."""
    return COUNT_PREFIX + reason.value


def reason_of(count_state: str) -> str | None:
    """The reason of a ``suppressed:<reason>`` count state; None for another state."""
    return count_state.removeprefix(COUNT_PREFIX) if count_state.startswith(COUNT_PREFIX) else None
