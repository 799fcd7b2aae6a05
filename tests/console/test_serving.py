"""The console page and its files are served with headers that lock the page down."""

from __future__ import annotations

import re

import httpx
import pytest

from pushgate.console.assets import STATIC_DIR

ASSETS = sorted(
    p.relative_to(STATIC_DIR).as_posix()
    for p in STATIC_DIR.rglob("*")
    if p.suffix in {".js", ".css", ".svg"}
)


def _assert_locked_down(answer: httpx.Response) -> None:
    policy = answer.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'"
    assert directives["require-trusted-types-for"] == "'script'"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/console", "/console/"])
async def test_the_page_is_served_uncached_and_locked_down(
    http: httpx.AsyncClient, path: str
) -> None:
    answer = await http.get(path)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    assert answer.headers["cache-control"] == "no-store"
    _assert_locked_down(answer)
    assert 'src="/console/static/console.js"' in answer.text
    assert 'href="/console/static/console.css"' in answer.text


async def test_the_page_has_no_inline_script_or_style_and_nothing_remote(
    http: httpx.AsyncClient,
) -> None:
    page = (await http.get("/console")).text
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert "<style" not in page
    assert " style=" not in page
    assert re.search(r"\son[a-z]+=", page) is None
    # Everything the page loads is a path on this server, never another origin.
    assert all(link.startswith("/") for link in re.findall(r'(?:src|href)="([^"]*)"', page))
    css = (STATIC_DIR / "console.css").read_text()
    assert "@import" not in css
    assert "url(" not in css
    scripts = [(STATIC_DIR / name).read_text() for name in ASSETS if name.endswith(".js")]
    imports = [i for text in scripts for i in re.findall(r'from\s+"([^"]+)"', text)]
    assert imports
    assert all(i.startswith(("./", "../")) for i in imports)


def test_the_console_has_its_files() -> None:
    assert {"console.js", "console.css"} <= set(ASSETS)


@pytest.mark.parametrize("name", ASSETS)
async def test_every_file_is_served_with_its_type_and_revalidated(
    http: httpx.AsyncClient, name: str
) -> None:
    answer = await http.get(f"/console/static/{name}")
    assert answer.status_code == 200
    assert answer.content == (STATIC_DIR / name).read_bytes()
    expected = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
    assert answer.headers["content-type"].startswith(expected[name.rsplit(".", 1)[1]])
    assert answer.headers["cache-control"] == "no-cache"
    _assert_locked_down(answer)
    again = await http.get(
        f"/console/static/{name}", headers={"If-None-Match": answer.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/console/static/nothing.js",
        "/console/static/../routes.py",
        "/console/static/%2e%2e/routes.py",
        "/console/static/..%2Froutes.py",
        "/console/static/views",
        "/console/static/",
    ],
)
async def test_only_shipped_files_are_served(http: httpx.AsyncClient, path: str) -> None:
    answer = await http.get(path)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


async def test_the_console_is_not_part_of_the_api_document(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p.startswith("/console")]
