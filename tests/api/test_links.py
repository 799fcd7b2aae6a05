"""The link table (api/links.py) refuses to publish a link the document cannot hold."""

from __future__ import annotations

from typing import Any

import pytest

from pushgate.api.links import Follows, LinkError, Operation, add_links


def document() -> dict[str, Any]:
    """Two operations: making a thing (in a tenant) and reading it by name."""
    tenant = {"in": "query", "name": "tenant"}
    return {
        "paths": {
            "/things": {
                "post": {
                    "operationId": "make",
                    "parameters": [tenant],
                    "responses": {"201": {"description": "Made."}},
                }
            },
            "/things/{name}": {
                "get": {
                    "operationId": "read",
                    "parameters": [{"in": "path", "name": "name"}, tenant],
                    "responses": {"200": {"description": "Found."}},
                }
            },
        }
    }


def follows(**changed: Any) -> Follows:
    values: dict[str, Any] = {
        "source": Operation("post", "/things"),
        "statuses": (201,),
        "name": "Thing",
        "targets": {"read": Operation("get", "/things/{name}")},
        "parameters": {"path.name": "$response.body#/name"},
        "description": "The thing just made.",
    }
    return Follows(**(values | changed))


def test_a_link_names_its_target_and_carries_the_tenant() -> None:
    made = document()
    add_links(made, (follows(),))
    link = made["paths"]["/things"]["post"]["responses"]["201"]["links"]["Thing.read"]
    assert link == {
        "operationId": "read",
        "parameters": {
            "path.name": "$response.body#/name",
            "query.tenant": "$request.query.tenant",
        },
        "description": "The thing just made.",
    }


@pytest.mark.parametrize(
    "wrong",
    [
        {"source": Operation("post", "/gone")},
        {"targets": {"read": Operation("patch", "/things/{name}")}},
        {"statuses": (200,)},
        {"parameters": {"path.id": "$response.body#/id"}},
        {"body": {"name": "$response.body#/name"}},
    ],
    ids=["no source", "no target", "no such answer", "no such parameter", "no body"],
)
def test_a_link_the_document_cannot_hold_is_refused(wrong: dict[str, Any]) -> None:
    with pytest.raises(LinkError):
        add_links(document(), (follows(**wrong),))


def test_two_links_of_one_name_are_refused() -> None:
    with pytest.raises(LinkError, match="two links"):
        add_links(document(), (follows(), follows()))
