"""Serving the web SDK: ``/sdk/web.js`` (the module a page imports) and ``/sdk/web-sw.js``
(the service worker a site copies to its own origin), read once from ``sdk/web/``.

The repository keeps them under ``clients/web/`` as well (links to these files), where a
site's developers look for them. Both are public: they hold no secret. They are served with
``Access-Control-Allow-Origin: *`` (api/cors.py), since a page imports the module across
origins and module scripts are fetched in CORS mode (HTML, "fetch a single module script").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Response

WEB_DIR = Path(__file__).parent / "web"
PREFIX = "/sdk"
# The address each file is served at, and the file. One table: nothing else under sdk/ is
# reachable.
FILES = {"web.js": "pushgate-web.js", "web-sw.js": "pushgate-web-sw.js"}
CONTENT_TYPE = "text/javascript; charset=utf-8"

router = APIRouter(prefix=PREFIX, include_in_schema=False)
IfNoneMatch = Annotated[str | None, Header(max_length=1024)]


@dataclass(frozen=True, slots=True)
class SdkFile:
    body: bytes
    etag: str


@cache
def sdk_file(name: str) -> SdkFile:
    body = (WEB_DIR / FILES[name]).read_bytes()
    return SdkFile(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _serve(name: str, if_none_match: str | None) -> Response:
    found = sdk_file(name)
    # Revalidated on every use (RFC 9111 §5.2.2.4): a new release is picked up at once,
    # an unchanged file costs a 304 (RFC 9110 §13.1.2).
    headers = {"Cache-Control": "no-cache", "ETag": found.etag, "X-Content-Type-Options": "nosniff"}
    if if_none_match is not None and found.etag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=CONTENT_TYPE, headers=headers)


@router.get("/web.js")
async def web_sdk(if_none_match: IfNoneMatch = None) -> Response:
    return _serve("web.js", if_none_match)


@router.get("/web-sw.js")
async def web_service_worker(if_none_match: IfNoneMatch = None) -> Response:
    return _serve("web-sw.js", if_none_match)
