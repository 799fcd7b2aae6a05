"""Text an upstream server chose, made fit to show: bounded, one line, never a page of markup.

Delivery reasons and a credential's ``paused_reason`` are shown to the tenant through the API
and written to logs. An upstream body is whatever the server (or, with a base URL override,
whatever host it names) decides to answer, so only a provider's error code and a short,
cleaned message of it are kept (docs/architecture.md §6).
"""

from __future__ import annotations

import re

# The most of an upstream message kept in a reason; providers' own messages are shorter.
MAX_DETAIL_CHARS = 200
# C0 and C1 controls, and the Unicode format characters that reorder or hide text
# (bidirectional overrides and isolates, zero-width characters, line separators).
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
# A body that opens with a tag is a page, not a message: an error page of a proxy, or an
# internal service's answer.
_MARKUP = re.compile(r"\s*<")


def clean_detail(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """``text`` on one line, controls removed, at most ``limit`` characters (``…`` if cut)."""
    text = " ".join(_HIDDEN.sub(" ", text).split())
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def body_detail(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    """The part of an answer body worth a reason: its cleaned text, or only its size when it
    is markup (HTML or XML pages are never repeated)."""
    if _MARKUP.match(text):
        return f"non-text answer of {len(text.encode())} bytes"
    return clean_detail(text, limit)
