"""Identifiers and clock values shared by every part."""

from __future__ import annotations

import os
import time


def now_ms() -> int:
    """UTC milliseconds since the epoch: the one time unit pushgate stores."""
    return time.time_ns() // 1_000_000


def new_id() -> str:
    """A UUIDv7 string (RFC 9562 §5.7): time-ordered, so new rows land at the index's end.

    48 bits of milliseconds, version 7, 12 random bits, variant ``10``, 62 random bits.
    """
    raw = bytearray(now_ms().to_bytes(6, "big") + os.urandom(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
