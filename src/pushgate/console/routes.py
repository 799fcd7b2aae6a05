"""Serving the console: the page at ``/console`` and its files under ``/console/static/``.

The page is static; it reads and changes everything through ``/v1`` with the API key the
operator pastes in. The headers lock it down: a Content-Security-Policy that allows only
this origin's own files and no inline script or style (CSP Level 3), Trusted Types required
so no script can assign HTML strings into the page, no MIME sniffing, no referrer, and no
framing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from pushgate.console.assets import INDEX, Asset, asset
from pushgate.errors import NotFound

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

router = APIRouter(prefix="/console", include_in_schema=False)
IfNoneMatch = Annotated[str | None, Header(max_length=1024)]


def _serve(found: Asset, cache_control: str, if_none_match: str | None) -> Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache_control, "ETag": found.etag}
    if if_none_match is not None and found.etag in (t.strip() for t in if_none_match.split(",")):
        # RFC 9110 §13.1.2: an unchanged file is answered with 304 and no body.
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.content_type, headers=headers)


@router.get("")
@router.get("/")
async def console_page() -> Response:
    """The page itself; never cached, so a new release is picked up at once."""
    page = asset(INDEX)
    if page is None:
        raise NotFound("the console page is not installed")
    return _serve(page, "no-store", None)


@router.get("/static/{name:path}")
async def console_file(
    name: Annotated[str, Path(max_length=200)], if_none_match: IfNoneMatch = None
) -> Response:
    """A script, style sheet or icon of the page; revalidated on every use by its ETag."""
    found = asset(name)
    if found is None:
        raise NotFound(f"no console file {name!r}", details={"file": name})
    return _serve(found, "no-cache", if_none_match)
