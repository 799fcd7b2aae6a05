"""The console's static files, read once from the package and served from memory.

Only files that ship in ``static/`` can be served: a request names an entry of this table,
never a filesystem path, so ``..`` or absolute paths cannot reach anything else.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
INDEX = "index.html"

# Only the kinds of file the console ships; anything else in the folder is not served.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, slots=True)
class Asset:
    """One static file: its bytes, media type and a strong validator (RFC 9110 §8.8.3)."""

    body: bytes
    content_type: str
    etag: str


@cache
def assets() -> dict[str, Asset]:
    """Every servable file under ``static/``, keyed by its path relative to that folder."""
    found: dict[str, Asset] = {}
    for path in sorted(STATIC_DIR.rglob("*")):
        content_type = CONTENT_TYPES.get(path.suffix)
        if content_type is None or not path.is_file():
            continue
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        found[path.relative_to(STATIC_DIR).as_posix()] = Asset(body, content_type, etag)
    return found


def asset(name: str) -> Asset | None:
    """The shipped file called ``name`` (for example ``views/apps.js``), if there is one."""
    return assets().get(name)
