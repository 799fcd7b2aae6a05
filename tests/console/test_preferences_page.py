"""The console's user page shows a user's preferences and changes them, against a real
``pushgate serve`` in headless Chromium (skipped when it is absent; docs/preferences.md)."""

from __future__ import annotations

from pathlib import Path

from tests.console.browser import chromium_page
from tests.console.test_browser import Served, _chromium, _sign_in, served

__all__ = ["_chromium", "served"]  # the fixtures, shared with the console's other tests


async def test_a_users_preferences_are_shown_and_changed(served: Served, tmp_path: Path) -> None:
    with served.api() as http:
        assert http.post("/v1/apps", json={"name": "desk"}).is_success
        for key in ("visit", "approval"):
            assert http.post("/v1/apps/desk/types", json={"key": key}).is_success
        assert http.put("/v1/users/ann", json={}).is_success
        given = {"types": {"visit": {"choice": "out"}}}
        assert http.put("/v1/users/ann/preferences", json=given).is_success
    profile = tmp_path / "profile"
    profile.mkdir()
    async with chromium_page(profile) as page:
        await _sign_in(page, served)
        await page.wait_for("document.querySelector('#app-create') !== null")
        await page.evaluate("location.hash = '#/users/ann'; true")
        await page.wait_for("document.querySelector('#preferences-edit') !== null")
        shown = await page.evaluate("document.querySelector('#preferences').innerText")
        assert "visit" in shown
        assert await page.evaluate("document.querySelector('#preferences-edit').out.value") == (
            "visit"
        )
        # An unknown key: the API's 422 is shown, naming the field.
        await page.evaluate(
            "{ const f = document.querySelector('#preferences-edit');"
            "f.elements.out.value = 'visit, vist'; f.requestSubmit(); }"
        )
        field = await page.wait_for("document.querySelector('.error-field code')?.textContent")
        assert field == "types.vist"
        await page.evaluate(
            "{ const f = document.querySelector('#preferences-edit');"
            "f.elements.default.value = 'out'; f.elements.out.value = '';"
            "f.elements.in.value = 'approval'; f.elements.channels.value = 'approval:webhook';"
            "f.elements.quiet_start.value = '22:00'; f.elements.quiet_end.value = '07:00';"
            "f.elements.urgent_passes.checked = true; f.requestSubmit(); }"
        )
        await page.wait_for("document.body.innerText.includes('Preferences saved.')")
        shown = await page.evaluate("document.querySelector('#preferences').innerText")
        assert "22:00–07:00, urgent ones pass" in shown
        assert page.errors == []
        # The one refusal asked for above, and nothing else.
        assert len(page.failed_loads) == 1
        assert "422" in page.failed_loads[0]
    with served.api() as http:
        stored = http.get("/v1/users/ann/preferences").json()
    assert stored == {
        "user": "ann",
        "default": "out",
        "types": {"approval": {"choice": "in", "providers_out": ["webhook"]}},
        "quiet_hours": {"start": "22:00", "end": "07:00", "urgent_passes": True},
    }
