"""The typed credential bodies in the OpenAPI document (api/credential_schemas.py).

One schema per provider kind, every field described with an example; each body the server
accepts matches its kind's schema and no other; and schemathesis, generating from the typed
union, meets no 5xx and no answer the document does not describe (a few seconds: drawing
bodies from a union of six schemas is the slow part, bounded by the fixed example count).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import given
from schemathesis import Case, GenerationMode

from pushgate.api.credential_schemas import EXAMPLES, NAMES, PATH
from pushgate.core.credentials import KINDS
from pushgate.core.credentials.kinds import INPUT_MODELS
from tests.api.live import LiveServer, live_server
from tests.api.test_credentials import every_kind
from tests.api.test_openapi import BOUNDED, CHECKS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("credential-schemas")) as running:
        headers = {"Authorization": f"Bearer {running.admin_key}"}
        made = requests.post(
            f"{running.base_url}/v1/apps", json={"name": "typed"}, headers=headers, timeout=10
        )
        assert made.status_code == 201, made.text
        yield running


def _document(server: LiveServer) -> dict[str, Any]:
    document: dict[str, Any] = requests.get(f"{server.base_url}/openapi.json", timeout=10).json()
    return document


def _matching_kinds(document: dict[str, Any], body: object) -> list[str]:
    """The kinds whose schema ``body`` is valid against."""
    components = document["components"]
    return [
        kind
        for kind, name in NAMES.items()
        if jsonschema_rs.validator_for(
            {"$ref": f"#/components/schemas/{name}", "components": components}
        ).is_valid(body)
    ]


def test_every_kind_has_an_input_model_and_a_schema() -> None:
    assert tuple(INPUT_MODELS) == KINDS
    assert tuple(NAMES) == KINDS
    assert {kind for kind, _ in EXAMPLES.values()} == set(KINDS)


def test_the_body_is_a_union_of_one_described_schema_per_kind(server: LiveServer) -> None:
    document = _document(server)
    body = document["paths"][PATH]["put"]["requestBody"]["content"]["application/json"]
    members = [member["$ref"].rsplit("/", 1)[1] for member in body["schema"]["oneOf"]]
    assert members == list(NAMES.values())
    schemas = document["components"]["schemas"]
    undescribed = []
    for name in [*members, "ServiceAccount"]:
        assert schemas[name]["additionalProperties"] is False, name
        for field, rules in schemas[name]["properties"].items():
            has_example = "examples" in rules
            if not rules.get("description") or not has_example:
                undescribed.append(f"{name}.{field}")
    assert undescribed == []
    assert {schemas[name]["title"] for name in members} == set(KINDS)
    # The simulator overrides are part of the schemas.
    assert "base_url" in schemas["ApnsCredentials"]["properties"]
    assert {"token_url", "base_url"} <= set(schemas["WnsCredentials"]["properties"])
    assert {"token_url", "base_url"} <= set(schemas["HmsCredentials"]["properties"])
    assert "token_uri" in schemas["ServiceAccount"]["properties"]
    # Each example is a body of its kind only.
    for name, example in body["examples"].items():
        assert _matching_kinds(document, example["value"]) == [EXAMPLES[name][0]], name


def test_every_accepted_body_matches_its_kind_only(server: LiveServer) -> None:
    document = _document(server)
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    at = f"{server.base_url}/v1/apps/typed/credentials"
    first = every_kind()[4][1]
    accepted = [
        *every_kind(),
        ("wns", {"client_id": "ms-app://s-1-15-2-1", "client_secret": "x"}, []),
        ("apns", {**every_kind()[0][1], "base_url": None, "certificate_p12": None}, []),
        ("webpush", {"subject": "https://example.com/contact", "generate": True}, []),
        ("webpush", {**first, "generate": False}, []),
    ]
    for kind, body, _ in accepted:
        answer = requests.put(f"{at}/{kind}", json=body, headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        assert _matching_kinds(document, body) == [kind], (kind, body)
    refused = [("wns", {"package_sid": "ms-app://s-1-15-2-1", "client_id": "ms-app://s-1-15-2-1"})]
    for kind, body in refused:
        answer = requests.put(f"{at}/{kind}", json=body, headers=headers, timeout=10)
        assert answer.status_code == 422, answer.text
        assert _matching_kinds(document, body) == []


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_bodies_from_the_typed_union(
    server: LiveServer, mode: GenerationMode, tmp_path: Path
) -> None:
    document = _document(server)
    operation = schemathesis.openapi.from_dict(document)[PATH]["PUT"]
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    kinds_drawn: list[str] = []
    with requests.Session() as session:

        @BOUNDED
        @given(case=operation.as_strategy(generation_mode=mode))
        def answers_as_documented(case: Case) -> None:
            case.path_parameters["app"] = "typed"
            case.call_and_validate(
                session=session,
                headers=headers,
                checks=CHECKS,
                timeout=10,
                base_url=server.base_url,
            )
            if isinstance(case.body, dict):
                kinds_drawn.extend(_matching_kinds(document, case.body))

        answers_as_documented()
    (tmp_path / "kinds.json").write_text(json.dumps(kinds_drawn))
    if mode is GenerationMode.POSITIVE:
        # Every positive body is one kind's: the generator drew from the typed members.
        assert len(kinds_drawn) >= 4, kinds_drawn
