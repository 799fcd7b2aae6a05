"""Identifiers and clock values shared by every part."""

from __future__ import annotations

import os
import time


def now_ms() -> int:
    """UTC milliseconds since the epoch: the one time unit pushgate stores."""
    return time.time_ns() // 1_000_000


def new_id() -> str:
    """A UUIDv7 string (RFC 9562 §5.7): time-ordered, so new rows land at the index's end."""
    return new_ids(1)[0]


def new_ids(count: int) -> list[str]:
    """``count`` UUIDv7 strings made with one clock read and one read of randomness.

    Layout (RFC 9562 §5.7): 48 bits of milliseconds, version 7, 12 random bits, variant
    ``10`` + 2 random bits, then 60 more random bits; built in hex text directly, since a
    fan-out names thousands of deliveries at a time.
    """
    stamp = now_ms().to_bytes(6, "big").hex()
    head = f"{stamp[:8]}-{stamp[8:]}-7"
    random = os.urandom(10 * count).hex()
    ids = []
    for at in range(0, 20 * count, 20):
        r = random[at : at + 20]
        variant = _VARIANT[r[4]]
        ids.append(f"{head}{r[1:4]}-{variant}{r[5:8]}-{r[8:]}")
    return ids


# The first hex digit of the variant group: bits ``10`` then two random bits.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def last_id_at(ms: int) -> str:
    """The greatest UUIDv7 :func:`new_ids` can make in millisecond ``ms``: ids up to it
    were made at or before ``ms``, so a time bounds a range of ids."""
    stamp = ms.to_bytes(6, "big").hex()
    return f"{stamp[:8]}-{stamp[8:]}-7fff-bfff-ffffffffffff"
