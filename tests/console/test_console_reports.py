"""The console's reports in real headless Chromium against a real ``pushgate serve``
(docs/reports.md, "In the console"): a notification's funnel moves while its page follows
the send, an app's dashboard charts its series from the reports API, and both CSV exports
download with the key in the Authorization header, never in a URL.

Interactions are posted as a device posts them, to ``POST /v1/interactions`` with the
``itoken`` of the push the webhook simulator received. The pixels of the series chart are
read back from its canvas, and screenshots are kept in each test's ``tmp_path``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pushgate.simulators.base import Fault
from pushgate.simulators.identity import identity_of
from tests.console.browser import Page
from tests.console.test_browser import Served, _chromium
from tests.console.test_console_follow import Hooks, _go, _register, hooks, page, served

__all__ = ["_chromium", "hooks", "page", "served"]  # the follow tests' server and tabs

BARS = (
    "JSON.stringify(Object.fromEntries([...document.querySelectorAll('#funnel g.bar')]"
    ".map(g => [g.dataset.label, [Number(g.dataset.value),"
    " Number(g.querySelector('rect').getAttribute('width'))]])))"
)
# The colours of the series' lines (charts.js METRIC_COLOURS), as canvas pixels.
COLOURS = {"received": (8, 145, 178), "opened": (22, 163, 74), "actioned": (192, 38, 211)}
# How many rows of the series chart's canvas hold a pixel of each colour: a line at zero is
# a row or two tall; a line that rises to a count spans many.
ROWS_OF_COLOUR = """(() => {
  const canvas = document.querySelector('#series-chart canvas');
  const { width, height } = canvas;
  const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const wanted = %s;
  const rows = Object.fromEntries(Object.keys(wanted).map((k) => [k, new Set()]));
  for (let i = 0; i < pixels.length; i += 4) {
    for (const [name, [r, g, b]] of Object.entries(wanted)) {
      if (pixels[i] === r && pixels[i + 1] === g && pixels[i + 2] === b && pixels[i + 3] === 255) {
        rows[name].add(Math.floor(i / 4 / width));
      }
    }
  }
  return JSON.stringify(Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.size])));
})()"""


def _approval_set(served: Served, app: str) -> None:
    with served.api() as api:
        for key in ("approve", "reject"):
            body = {"key": key, "title": key.title(), "handler": {"kind": "record"}}
            assert api.post(f"/v1/apps/{app}/actions", json=body).status_code == 201
        sets = {"key": "approval", "actions": ["approve", "reject"]}
        assert api.post(f"/v1/apps/{app}/action-sets", json=sets).status_code == 201


async def _pushes_of(hooks: Hooks, notification: str, count: int) -> list[dict[str, str]]:
    """The identities of the pushes of ``notification`` the receiver has, once it has
    ``count`` of them (delivery runs in the server, apart from this test)."""
    async with asyncio.timeout(20):
        while True:
            found = [identity_of("webhook", r.body) for r in hooks.receiver.all_received()]
            mine = [i.fields for i in found if i and i.fields["notification"] == notification]
            if len(mine) >= count:
                return mine
            await asyncio.sleep(0.05)


def _report(served: Served, app: str, identity: dict[str, str], *events: str) -> None:
    """What a device reports for its push: each of ``events``, ``action:key`` for a tap."""
    at = datetime.now(UTC).isoformat()
    items: list[dict[str, Any]] = []
    for event in events:
        kind, _, key = event.partition(":")
        item = {
            "notification": identity["notification"],
            "delivery": identity["delivery"],
            "token": identity["itoken"],
            "event": kind,
            "at": at,
        }
        items.append(item | ({"action_key": key} if key else {}))
    with served.api() as api:
        answer = api.post("/v1/interactions", json={"app": app, "events": items})
        assert answer.status_code == 200, answer.text
        assert answer.json()["recorded"] == len(items)


def _csv_in(folder: Path) -> str | None:
    done = [p for p in folder.iterdir() if p.suffix == ".csv"]
    return done[0].read_text() if done else None


async def _downloaded(folder: Path, within: float = 10.0) -> str:
    """The text of the CSV file the browser saved into ``folder``, once it is there (a
    download in progress has another suffix until it is complete)."""
    async with asyncio.timeout(within):
        while True:
            text = await asyncio.to_thread(_csv_in, folder)
            if text is not None:
                return text
            await asyncio.sleep(0.05)


async def _allow_downloads(page: Page, folder: Path) -> None:
    await asyncio.to_thread(folder.mkdir)
    await page.call("Page.setDownloadBehavior", behavior="allow", downloadPath=str(folder))


def _keyless(page: Page, served: Served) -> None:
    """No address the page asked for carries the API key, and every one is this server's
    (the chart library included), the page's own download, or data the browser draws with
    (the date input's icon)."""
    assert page.requested
    assert not [url for url in page.requested if served.admin_key in url or "pgk_" in url]
    ours = (served.base_url, "blob:", "data:")
    assert [url for url in page.requested if not url.startswith(ours)] == []


async def test_the_funnel_moves_while_the_page_follows_and_downloads_its_deliveries(
    served: Served, hooks: Hooks, page: Page, tmp_path: Path
) -> None:
    _approval_set(served, hooks.app)
    fast = _register(served, hooks, "fast")
    other = _register(served, hooks, "other")
    slow = _register(served, hooks, "slow")
    # The slow device's receiver answers 503 until the end of the test, so the page keeps
    # following while the other two report.
    hooks.receiver.inject(Fault(status=503, retry_after=1, count=None, token="/hook/slow"))
    with served.api() as api:
        body = {
            "app": hooks.app,
            "audience": {"devices": [fast, other, slow]},
            "title": "Approve?",
            "action_set": "approval",
        }
        sent = api.post("/v1/notifications", json=body)
        assert sent.status_code == 202, sent.text
        notification = sent.json()["id"]
    first, second = await _pushes_of(hooks, notification, 2)
    await _go(page, f"#/notifications/{notification}", "document.querySelector('#funnel')")
    await page.wait_for("!!document.querySelector('#live.following')")
    await page.wait_for(f"JSON.parse({BARS}).sent[0] === 2")
    bars = json.loads(await page.evaluate(BARS))
    assert bars["targeted"][0] == 3
    assert bars["opened"] == [0, 0]
    await page.evaluate("window.stayed = true")

    _report(served, hooks.app, first, "received", "opened", "action:approve")
    _report(served, hooks.app, second, "received", "opened", "action:reject")
    await page.wait_for(f"JSON.parse({BARS}).opened[0] === 2")
    bars = json.loads(await page.evaluate(BARS))
    assert bars["received"][0] == bars["opened"][0] == bars["actioned"][0] == 2
    assert bars["action approve"][0] == bars["action reject"][0] == 1
    # Each bar is drawn to scale: the three targeted widest, the two opened at 2/3 of it.
    assert bars["targeted"][1] > bars["opened"][1] > bars["action approve"][1] > 0
    assert abs(bars["opened"][1] / bars["targeted"][1] - 2 / 3) < 0.02
    rate = await page.evaluate(
        "document.querySelector('#funnel g[data-label=opened] .bar-value').textContent"
    )
    assert rate == "2 (100%)"  # over the two deliveries sent
    assert await page.evaluate("window.stayed === true")  # no reload: the page followed
    await page.screenshot(tmp_path / "funnel.png")

    downloads = tmp_path / "downloads"
    await _allow_downloads(page, downloads)
    await page.evaluate(
        "[...document.querySelectorAll('main button')].find(b => "
        "b.textContent.startsWith('Download deliveries')).click()"
    )
    rows = list(csv.DictReader(io.StringIO(await _downloaded(downloads))))
    by_delivery = {row["delivery"]: row for row in rows}
    assert by_delivery[first["delivery"]]["actions"].startswith("approve@")
    assert by_delivery[second["delivery"]]["opened_at"] != ""
    assert len(rows) == 3
    _keyless(page, served)
    assert page.errors == []
    assert page.failed_loads == []
    with served.api() as api:  # the slow device's retries end with the test
        assert api.delete(f"/v1/notifications/{notification}").is_success
    await page.wait_for("document.querySelector('#live')?.textContent.startsWith('Final')")


async def test_the_app_dashboard_charts_its_series_and_downloads_it(
    served: Served, hooks: Hooks, page: Page, tmp_path: Path
) -> None:
    _approval_set(served, hooks.app)
    devices = [_register(served, hooks, f"d{n}") for n in range(3)]
    with served.api() as api:
        body = {
            "app": hooks.app,
            "audience": {"devices": devices},
            "title": "Dashboard",
            "action_set": "approval",
        }
        notification = api.post("/v1/notifications", json=body).json()["id"]
    pushes = await _pushes_of(hooks, notification, 3)
    _report(served, hooks.app, pushes[0], "received", "opened", "action:approve")
    _report(served, hooks.app, pushes[1], "received", "opened")
    _report(served, hooks.app, pushes[2], "received")

    await _go(page, f"#/apps/{hooks.app}", "document.querySelector('#app-reports')")
    await page.evaluate("document.querySelector('#app-reports').click()")
    await page.wait_for("!!document.querySelector('#series-chart canvas')")
    # The last 24 hours, per hour: few enough points that the lines rise steeply.
    await page.evaluate(
        "[...document.querySelectorAll('a.preset')].find(a => a.textContent === "
        "'Last 24 hours').click()"
    )
    await page.wait_for("location.hash.includes('from=')")
    await page.wait_for("!!document.querySelector('#series-chart canvas')")
    totals = await page.evaluate(
        "JSON.stringify(Object.fromEntries([...document.querySelectorAll("
        "'#report-totals dd')].map(d => [d.dataset.metric, Number(d.textContent)])))"
    )
    assert json.loads(totals) == {
        "sent": 3,
        "received": 3,
        "opened": 2,
        "dismissed": 0,
        "actioned": 1,
    }
    assert f"{served.base_url}/console/static/vendor/uplot/uPlot.iife.min.js" in page.requested
    points = await page.evaluate("document.querySelector('#series-chart').plot.data[0].length")
    assert points in (24, 25)  # the range widened to whole hours
    rows = json.loads(await page.evaluate(ROWS_OF_COLOUR % json.dumps(COLOURS)))
    assert all(count >= 10 for count in rows.values()), rows
    top = await page.evaluate(
        "[...document.querySelectorAll('#report-top tbody tr')].map(r => "
        "[...r.cells].map(c => c.textContent))"
    )
    assert [row[0] for row in top] == [notification]
    assert top[0][3:] == ["3", "2", "66.7%"]
    await page.screenshot(tmp_path / "dashboard.png")

    downloads = tmp_path / "downloads"
    await _allow_downloads(page, downloads)
    await page.evaluate(
        "[...document.querySelectorAll('main button')].find(b => "
        "b.textContent.startsWith('Download the series')).click()"
    )
    lines = list(csv.DictReader(io.StringIO(await _downloaded(downloads))))
    assert len(lines) == points
    assert sum(int(line["opened"]) for line in lines) == 2
    assert sum(int(line["sent"]) for line in lines) == 3
    # A range the API refuses (over 2,000 hours) is said, with the quick ranges to go on.
    long_ago = f"#/apps/{hooks.app}/reports?from=2020-01-01T00:00:00Z&interval=hour"
    await _go(page, long_ago, "document.querySelector('.error-code')")
    refused = await page.evaluate(
        "[document.querySelector('.error-code').textContent,"
        " document.querySelector('.error-field code').textContent,"
        " document.querySelectorAll('a.preset').length]"
    )
    assert refused == ["validation_failed", "from", 4]
    _keyless(page, served)
    assert page.errors == []
    [refusal] = page.failed_loads  # that range's, and only it
    assert "422" in refusal
