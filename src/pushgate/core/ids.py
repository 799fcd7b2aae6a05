"""Identifiers and clock values shared by every part."""

from __future__ import annotations

import os
import time
import uuid


def now_ms() -> int:
    """UTC milliseconds since the epoch: the one time unit pushgate stores."""
    return time.time_ns() // 1_000_000


def new_id() -> str:
    """A UUIDv7 string (RFC 9562 §5.7): time-ordered, so new rows land at the index's end."""
    value = (now_ms() & 0xFFFF_FFFF_FFFF) << 80
    value |= int.from_bytes(os.urandom(10), "big") & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # variant 10
    return str(uuid.UUID(int=value))
