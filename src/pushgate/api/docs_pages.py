"""The API reference pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served offline.

FastAPI's own pages load their scripts and styles from a CDN (and ReDoc its fonts from
Google), so on a host without internet they stay blank. The same files come here from the
``fastapi-offline`` package, which ships Swagger UI's and ReDoc's release bundles as package
data; pushgate serves them under ``/docs/static/`` and points both pages at them. Nothing
either page needs comes from another origin (ReDoc's footer still asks for its maker's logo,
and hides it when that fails).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
STATIC_PATH = f"{DOCS_PATH}/static"
# The package and the folder in it that hold the bundles.
ASSETS_PACKAGE = ("fastapi_offline", "static")

router = APIRouter(include_in_schema=False)


def install(api: FastAPI) -> None:
    """Add the two pages and the files they load to ``api``."""
    api.mount(STATIC_PATH, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-static")
    api.include_router(router)


@router.get(DOCS_PATH)
async def swagger_ui() -> HTMLResponse:
    """Swagger UI: every operation, with "Authorize" for an API key and "Try it out"."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="pushgate API",
        swagger_js_url=f"{STATIC_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{STATIC_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{STATIC_PATH}/favicon.png",
        oauth2_redirect_url=None,
        # The key typed into "Authorize" survives a reload of the page.
        swagger_ui_parameters={"persistAuthorization": True},
    )


@router.get(REDOC_PATH)
async def redoc() -> HTMLResponse:
    """ReDoc: the same document as one long, searchable page."""
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="pushgate API",
        redoc_js_url=f"{STATIC_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{STATIC_PATH}/favicon.png",
        with_google_fonts=False,
    )
