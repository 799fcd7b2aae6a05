"""Headless Chromium driven over its DevTools protocol, for the console's browser test.

Only what the test needs: start the browser on a free loopback port, attach to its page,
send commands, wait for conditions on the page, and keep what the page reported (script
exceptions, CSP violations and other console errors, the addresses it requested) so the test
can assert there were none. ``offline=True`` gives the browser no way out of 127.0.0.1.

Starting Chromium takes seconds on a loaded machine, so every test of a worker process
shares one browser: each gets a tab of its own (a fresh ``sessionStorage``, where the console
keeps its key), closed when the test ends. An offline page gets a browser of its own, since
the flags that cut it off apply to the whole process.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import json
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

CHROMIUM = Path("/usr/bin/chromium")
START_TIMEOUT_SECONDS = 30.0  # a loaded 2-core machine has taken over 15 s
CALL_TIMEOUT_SECONDS = 10.0
# Every page's last look is kept beside the test's other files, the failing ones' above all.
LAST_SCREENSHOT = "last.png"
LAST_SCREENSHOT_SECONDS = 10.0
# No host name resolves, and whatever is not loopback goes to a proxy on a closed port
# (Chromium never proxies loopback), so an address literal cannot get out either.
OFFLINE_FLAGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Page:
    """One browser tab: DevTools commands, page conditions, and the errors it logged.

    ``errors`` holds script exceptions and console errors (a CSP violation is one);
    ``failed_loads`` the requests answered with an error status; ``requested`` the address
    of every request the page made.
    """

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._last_id = 0
        self.errors: list[str] = []
        self.failed_loads: list[str] = []
        self.requested: list[str] = []
        # Events of the DevTools domains a test asked to keep (``keep``), oldest first.
        self.kept: list[dict[str, Any]] = []
        self._keeping: tuple[str, ...] = ()

    def keep(self, *domains: str) -> None:
        """Keep the events of ``domains`` (``"ServiceWorker"``) in :attr:`kept`."""
        self._keeping = (*self._keeping, *(f"{domain}." for domain in domains))

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._last_id += 1
        sent = self._last_id
        await self._connection.send(json.dumps({"id": sent, "method": method, "params": params}))
        async with asyncio.timeout(CALL_TIMEOUT_SECONDS):
            while True:
                message = json.loads(await self._connection.recv())
                if message.get("id") == sent:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    result: dict[str, Any] = message.get("result", {})
                    return result
                self._note(message)

    def _note(self, event: dict[str, Any]) -> None:
        params = event.get("params", {})
        if self._keeping and str(event.get("method", "")).startswith(self._keeping):
            self.kept.append(event)
        if event.get("method") == "Runtime.exceptionThrown":
            self.errors.append(str(params["exceptionDetails"]))
        elif event.get("method") == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            # A refused request is logged as a failed load; some tests provoke one on purpose.
            found = self.failed_loads if entry["source"] == "network" else self.errors
            found.append(entry["text"])
        elif event.get("method") == "Network.requestWillBeSent":
            self.requested.append(params["request"]["url"])

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        answer = await self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression!r} threw: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def wait_for(self, expression: str, within: float = 10.0) -> Any:
        """Poll until ``expression`` is truthy in the page; its value, or fail at the deadline."""
        deadline = time.monotonic() + within
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                text = await self.evaluate("document.body.innerText")
                raise AssertionError(f"timed out waiting for {expression!r}; page:\n{text}")
            await asyncio.sleep(0.05)

    async def screenshot(self, path: Path, *, whole_page: bool = True) -> None:
        """A PNG of the page, or of the window only (a very long page takes long to draw)."""
        shot = await self.call(
            "Page.captureScreenshot", format="png", captureBeyondViewport=whole_page
        )
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))


BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--no-first-run",
    "--no-default-browser-check",
    "--window-size=1280,900",
    "--remote-debugging-address=127.0.0.1",
)


@asynccontextmanager
async def chromium_page(profile_dir: Path, *, offline: bool = False) -> AsyncIterator[Page]:
    """A blank tab of a headless Chromium: of this process's shared browser, or, with
    ``offline``, of a browser of its own (logging into ``profile_dir``) that reaches
    nothing but 127.0.0.1."""
    if not offline:
        port = await asyncio.to_thread(_shared.port)
        async with _tab(port) as page:
            try:
                yield page
            finally:
                await _last_screenshot(page, profile_dir)
        return
    port = free_port()
    log = await asyncio.to_thread((profile_dir / "chromium.log").open, "wb")
    process = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        *BROWSER_FLAGS,
        f"--user-data-dir={profile_dir}",
        f"--remote-debugging-port={port}",
        *OFFLINE_FLAGS,
        "about:blank",
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        target = await _page_target(port, process)
        async with connect(target, max_size=64 * 1024 * 1024, open_timeout=5) as connection:
            page = await _attached(connection)
            try:
                yield page
            finally:
                await _last_screenshot(page, profile_dir)
    finally:
        await _stop(process)
        log.close()


async def _last_screenshot(page: Page, folder: Path) -> None:
    """Keep the page as the test left it (``last.png`` in ``folder``, the test's artifact),
    passed or failed; a page that cannot be drawn any more is no reason to fail."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(LAST_SCREENSHOT_SECONDS):
            await page.screenshot(folder / LAST_SCREENSHOT)


async def _attached(connection: ClientConnection) -> Page:
    page = Page(connection)
    for domain in ("Page", "Runtime", "Log", "Network"):
        await page.call(f"{domain}.enable")
    return page


@asynccontextmanager
async def _tab(port: int) -> AsyncIterator[Page]:
    """A new tab of the browser on ``port``, closed on the way out."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        made = (await http.put("/json/new?about:blank")).raise_for_status().json()
        try:
            address = made["webSocketDebuggerUrl"]
            async with connect(address, max_size=64 * 1024 * 1024, open_timeout=5) as connection:
                yield await _attached(connection)
        finally:
            await http.get(f"/json/close/{made['id']}")


class SharedBrowser:
    """The one Chromium of this process, started at first use and stopped at exit."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._port = 0
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    def port(self) -> int:
        """The DevTools port of the running browser, started (again) if it is not running."""
        if self._process is not None and self._process.poll() is None:
            return self._port
        self.stop()
        # Chromium's helpers may still be writing as it stops: what they leave is tolerated.
        self._folder = tempfile.TemporaryDirectory(
            prefix="pushgate-chromium-", ignore_cleanup_errors=True
        )
        folder = Path(self._folder.name)
        self._port = free_port()
        with (folder / "chromium.log").open("wb") as log:
            self._process = subprocess.Popen(
                [
                    str(CHROMIUM),
                    *BROWSER_FLAGS,
                    f"--user-data-dir={folder / 'profile'}",
                    f"--remote-debugging-port={self._port}",
                    "about:blank",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_for_devtools(self._port, self._process)
        return self._port

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        self._process = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None


def _wait_for_devtools(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/json/version", timeout=2).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"Chromium did not open its DevTools port (exit code {process.poll()})")


_shared = SharedBrowser()
atexit.register(_shared.stop)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await asyncio.wait_for(process.wait(), 5)


async def _page_target(port: int, process: asyncio.subprocess.Process) -> str:
    """The DevTools WebSocket address of the browser's first tab."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as http:
        while time.monotonic() < deadline and process.returncode is None:
            try:
                targets = (await http.get("/json/list")).json()
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                address: str = pages[0]["webSocketDebuggerUrl"]
                return address
            await asyncio.sleep(0.1)
    raise RuntimeError(f"Chromium did not open its DevTools port (exit code {process.returncode})")
