"""The ``Prefer`` request header (RFC 7240): what a relay request says of how long it will
wait (docs/relay.md, "Long sends"). Only ``respond-async`` (§4.1) and ``wait`` (§4.3) are
read; any other preference is ignored, as §2 allows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Preferences:
    respond_async: bool = False
    wait: float | None = None


def parse_prefer(values: list[str]) -> Preferences:
    """Every ``Prefer`` header's preferences (§2: a list, in one or more headers); the
    first of a name counts (§2), a ``wait`` that is not a number of seconds is ignored."""
    respond_async = False
    wait: float | None = None
    seen: set[str] = set()
    for value in values:
        for item in value.split(","):
            # A preference's own parameters follow ";" (§2); these two take none.
            name, _, given = item.split(";", 1)[0].partition("=")
            name = name.strip().lower()
            if not name or name in seen:
                continue
            seen.add(name)
            if name == "respond-async":
                respond_async = True
            elif name == "wait":
                text = given.strip().strip('"')
                if text.isdigit():
                    wait = float(text)
    return Preferences(respond_async, wait)
