"""The console's notification page shows the answers to its actions: counts per action and
state, and the answers themselves, against a real ``pushgate serve`` in headless Chromium
(skipped when it is absent)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from pushgate.config import Settings
from pushgate.core.ids import new_id
from pushgate.core.response_tokens import ResponseToken, mint
from pushgate.wiring import build_services
from tests.clock import in_200_days
from tests.console.browser import chromium_page
from tests.console.test_browser import Served, _chromium, _sign_in, served

__all__ = ["_chromium", "served"]  # the fixtures, shared with the console's other tests


async def _answered(served: Served, data_dir: Path) -> str:
    """A notification with approve and reject, answered once with approve (a token
    minted for it on the server's own key, as a push would carry); its id."""
    with served.api() as api:
        assert api.post("/v1/apps", json={"name": "shop"}).is_success
        webhook = {"url": "https://hooks.example.com/x", "generate_signing_secret": True}
        assert api.put("/v1/apps/shop/credentials/webhook", json=webhook).is_success
        for key in ("approve", "reject"):
            made = api.post(
                "/v1/apps/shop/actions",
                json={"key": key, "title": key.title(), "handler": {"kind": "record"}},
            )
            assert made.status_code == 201, made.text
        later = {
            "app": "shop",
            "audience": {"everyone": True},
            "title": "Order 7",
            "actions": ["approve", "reject"],
            "send_at": in_200_days(),
        }
        notification_id: str = api.post("/v1/notifications", json=later).json()["id"]
    services = await build_services(Settings(data_dir=data_dir), run_migrations=False)
    try:
        claims = ResponseToken(new_id(), notification_id, new_id(), int(time.time()) + 3600)
        token = mint(services.box, claims)
    finally:
        await services.close()
    with served.api() as api:
        answer = api.post(
            "/v1/push/shop/action/approve",
            json={"token": token, "input": "ship it"},
            headers={"Authorization": ""},
        )
        assert answer.status_code == 200, answer.text
    return notification_id


async def test_the_notification_page_shows_its_answers(served: Served, tmp_path: Path) -> None:
    notification_id = await _answered(served, tmp_path / "data")
    profile = tmp_path / "profile"
    profile.mkdir()
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        await page.evaluate(f"location.hash = '#/notifications/{notification_id}'; true")
        await page.wait_for("document.querySelector('h1')?.textContent === 'Order 7'")
        rows = (
            "[...document.querySelectorAll('main table')].map(t => [...t.querySelectorAll("
            "'tbody tr')].map(r => [...r.cells].map(c => c.textContent)))"
        )
        tables = await page.wait_for(f"JSON.stringify({rows})")
        found = json.loads(tables)
        assert [["approve", "0", "1", "0"], ["reject", "0", "0", "0"]] in found, found
        [answer] = found[-1]
        assert answer[:2] == ["approve", "succeeded"]
        assert answer[3] == "ship it"
        await page.screenshot(tmp_path / "answers.png")
        assert page.errors == []
