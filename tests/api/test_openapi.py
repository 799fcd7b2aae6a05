"""Property-based run over the published OpenAPI document (schemathesis, SQLite).

Every registry operation gets generated requests, both valid and invalid by the schema,
sent as an instance admin to a real server: no answer may be a 5xx, and every answer must
match what ``/openapi.json`` says about it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.live import LiveServer, live_server

EXAMPLES_PER_OPERATION = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BOUNDED = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("openapi")) as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(server: LiveServer) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    return loaded.include(path_regex=r"^/v1/")


def run_operation(strategy: SearchStrategy[Case], send: Callable[[Case], None]) -> bool:
    """Send the generated cases; False when the schema allows no case of this kind."""

    @BOUNDED
    @given(case=strategy)
    def property_holds(case: Case) -> None:
        send(case)

    try:
        property_holds()
    except Unsatisfiable:
        # Negative mode: an operation whose every input is optional and unconstrained
        # has no invalid request to make.
        return False
    return True


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_registry_operations_follow_their_schema(
    api_schema: schemathesis.BaseSchema, server: LiveServer, mode: GenerationMode
) -> None:
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    with requests.Session() as session:

        def send(case: Case) -> None:
            case.call_and_validate(session=session, headers=headers, checks=CHECKS, timeout=10)

        exercised = [
            operation.label
            for operation in operations
            if run_operation(operation.as_strategy(generation_mode=mode), send)
        ]
    assert len(exercised) >= len(operations) // 2, exercised
