"""The console calls only API operations that exist in the app's OpenAPI document.

Every call in the scripts is written ``api.<verb>(`/v1/...`)`` (see ``api.js``), so the
calls can be read out of the source and checked, method and path, against
``/openapi.json``: renaming or removing a route the console uses fails here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from pushgate.console.assets import STATIC_DIR

CALL = re.compile(r"\bapi\.(get|post|put|patch|delete)\(\s*`(/v1/[^`]*)`")
PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\{[^}]*\}")


@dataclass(frozen=True, order=True)
class Call:
    """One API call written in a console script."""

    script: str
    method: str
    path: str

    @property
    def template(self) -> str:
        """The path with every variable part as ``{}``, comparable with OpenAPI templates."""
        return PLACEHOLDER.sub("{}", self.path)


def console_calls() -> list[Call]:
    found = []
    for script in sorted(STATIC_DIR.rglob("*.js")):
        text = script.read_text()
        name = script.relative_to(STATIC_DIR).as_posix()
        found += [Call(name, method, path) for method, path in CALL.findall(text)]
    return found


def operations(document: dict[str, object]) -> set[tuple[str, str]]:
    """(method, path template) of every operation the document publishes."""
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {
        (method, PLACEHOLDER.sub("{}", path))
        for path, item in paths.items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


def unknown_calls(calls: list[Call], published: set[tuple[str, str]]) -> list[Call]:
    return [c for c in calls if (c.method, c.template) not in published]


def test_every_api_path_in_the_scripts_is_a_checked_call() -> None:
    # A /v1 path outside the api.<verb>(`...`) form would escape the check below.
    for script in STATIC_DIR.rglob("*.js"):
        text = script.read_text()
        literals = re.findall(r"[`'\"]/v1/", text)
        assert len(literals) == len(CALL.findall(text)), script.name
        if script.name != "api.js":
            assert "fetch(" not in text, script.name


async def test_the_console_calls_only_published_operations(http: httpx.AsyncClient) -> None:
    calls = console_calls()
    published = operations((await http.get("/openapi.json")).json())
    assert unknown_calls(calls, published) == []
    # The views use the whole registry: every resource, every verb.
    used = {(c.method, c.template) for c in calls}
    assert len(used) >= 25
    assert {c.method for c in calls} == {"get", "post", "put", "patch", "delete"}


async def test_a_renamed_route_is_caught(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    calls = console_calls()
    renamed = "/v1/apps/{app}/credentials/{kind}"
    document["paths"]["/v1/apps/{app}/credential-sets/{kind}"] = document["paths"].pop(renamed)
    missing = unknown_calls(calls, operations(document))
    assert {(c.method, c.template) for c in missing} == {
        ("put", "/v1/apps/{}/credentials/{}"),
        ("delete", "/v1/apps/{}/credentials/{}"),
    }
    assert {c.script for c in missing} == {"views/credentials.js"}
