"""The API reference pages render in a real headless Chromium that can reach only 127.0.0.1.

Swagger UI and ReDoc come from files pushgate serves itself (api/docs_pages.py): with every
other address unreachable, each page must still draw its operations, and Swagger UI's
"Authorize" must carry an API key to a call made from the page. Each test starts a browser
and loads a bundle of over a megabyte (about 8 s here): a page drawn by a real browser is what
is tested, nothing cheaper shows it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.api.live import LiveServer, live_server
from tests.console.browser import CHROMIUM, Page, chromium_page
from tests.services import require_program

SET_CREDENTIALS = "#operations-apps-set_credentials_v1_apps__app__credentials__kind__put"
LIST_APPS = "#operations-apps-list_apps_v1_apps_get"
# ReDoc's "API docs by Redocly" footer tries this one image and hides it when it fails to
# load; nothing the page needs comes from outside.
REDOC_ATTRIBUTION = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(autouse=True)
def _chromium() -> None:
    require_program(CHROMIUM.name, "chromium")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path / "data") as running:
        yield running


def _only_local(requested: list[str]) -> list[str]:
    """The requests that went anywhere but 127.0.0.1 (``data:`` and ``blob:`` addresses
    stay in the page)."""
    return [
        url
        for url in requested
        if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname != "127.0.0.1"
    ]


async def _click(page: Page, selector: str) -> None:
    """Click ``selector`` once it is on the page."""
    await page.wait_for(f"document.querySelector({selector!r}) !== null")
    await page.evaluate(f"document.querySelector({selector!r}).click(); true")


async def test_swagger_ui_renders_offline_and_authorizes(
    server: LiveServer, tmp_path: Path
) -> None:
    async with chromium_page(tmp_path, offline=True) as page:
        await page.call("Page.navigate", url=f"{server.base_url}/docs")
        await page.wait_for(f"document.querySelector('{SET_CREDENTIALS}') !== null", within=20)
        paths = await page.evaluate(
            "[...document.querySelectorAll('.opblock-summary-path')].map(e => e.dataset.path)"
        )
        assert "/v1/apps/{app}/credentials/{kind}" in paths
        assert len(paths) >= 40
        # Authorize with the key, then run "List apps" from the page: the call carries it.
        await page.evaluate(f"ui.preauthorizeApiKey('apiKey', {server.admin_key!r}); true")
        for button in (".opblock-summary-control", ".try-out__btn", ".execute"):
            await _click(page, f"{LIST_APPS} {button}")
        status = await page.wait_for(
            f"document.querySelector('{LIST_APPS} .live-responses-table tbody "
            ".response-col_status')?.textContent.trim()"
        )
        await page.screenshot(tmp_path / "swagger-ui.png", whole_page=False)
        assert status == "200"
        assert page.errors == []
        assert page.failed_loads == []
        assert _only_local(page.requested) == []
        assert f"{server.base_url}/docs/static/swagger-ui-bundle.js" in page.requested


async def test_redoc_renders_offline(server: LiveServer, tmp_path: Path) -> None:
    async with chromium_page(tmp_path, offline=True) as page:
        await page.call("Page.navigate", url=f"{server.base_url}/redoc")
        headings = await page.wait_for(
            "(names => names.length > 40 && names)"
            "([...document.querySelectorAll('h2')].map(h => h.textContent.trim()))",
            within=30,
        )
        await page.screenshot(tmp_path / "redoc.png", whole_page=False)
        assert "Set Credentials" in headings
        assert "List Apps" in headings
        assert page.errors == []
        assert len(page.failed_loads) <= 1
        assert set(_only_local(page.requested)) <= {REDOC_ATTRIBUTION}
        assert f"{server.base_url}/docs/static/redoc.standalone.js" in page.requested
