"""Choosing the locale variant of a notification for one device.

The device's locale wins, then its user's; an exact tag (``de-AT``) beats the bare
language (``de``), which beats the notification's default content. Matching ignores case
and treats ``_`` as ``-`` (clients send both ``de_AT`` and ``de-AT``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

V = TypeVar("V")


def _normal(tag: str) -> str:
    return tag.replace("_", "-").lower()


def choose_variant(variants: Mapping[str, V], *preferences: str | None) -> V | None:
    """The best variant for the first preference that has one, or None for the default."""
    if not variants:
        return None
    table = {_normal(tag): value for tag, value in variants.items()}
    for preference in preferences:
        if not preference:
            continue
        wanted = _normal(preference)
        if wanted in table:
            return table[wanted]
        language = wanted.split("-", 1)[0]
        if language in table:
            return table[language]
    return None
