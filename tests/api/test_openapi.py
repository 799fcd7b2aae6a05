"""Property-based run over the published OpenAPI document (schemathesis, SQLite).

Every registry operation gets generated requests, both valid and invalid by the schema,
sent as an instance admin to a real server: no answer may be a 5xx, and every answer must
match what ``/openapi.json`` says about it. Then valid requests with one value replaced
by input nothing can hold (NUL, lone surrogates, integers beyond 64 bits, deep nesting),
and a stateful run along the links between operations. Each run is bounded: a fixed
number of examples, derandomized (a fixed seed).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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


# -- input no column or encoder can hold, and a stateful run --------------------------------

# Values that JSON and URLs carry but nothing after the input rules could hold: NUL, lone
# surrogates, integers beyond signed 64 bits, nesting past the bound (api/json_rules.py).
POISON: SearchStrategy[object] = st.sampled_from(
    [
        "a\x00b",
        "\ud800",
        "x\udfffy",
        2**64,
        -(2**63) - 1,
        10**30,
        functools.reduce(lambda inner, _: {"a": inner}, range(40), {}),
    ]
)
POISONED = settings(BOUNDED, max_examples=4)


@st.composite
def poisoned(draw: st.DrawFn, cases: SearchStrategy[Case]) -> tuple[Case, bool]:
    """A valid case with one body value, query value or path parameter replaced by poison;
    True when the body was poisoned (the input rules then answer before anything else)."""
    case = draw(cases)
    if isinstance(case.body, dict) and case.body:
        case.body[draw(st.sampled_from(sorted(case.body)))] = draw(POISON)
        return case, True
    text = draw(st.sampled_from(["\x00", "a\x00", "%00"]))
    if case.query:
        case.query[draw(st.sampled_from(sorted(case.query)))] = text
    elif case.path_parameters:
        case.path_parameters[draw(st.sampled_from(sorted(case.path_parameters)))] = text
    return case, False


def test_poisoned_input_is_a_4xx(api_schema: schemathesis.BaseSchema, server: LiveServer) -> None:
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    # Not the answer routes: they take a response token, not a key, so a request of this
    # run is refused 401 before its body is judged (tests/api/test_action_answers.py).
    keyed = api_schema.exclude(path_regex=r"^/v1/push/")
    operations = [result.ok() for result in keyed.get_all_operations()]
    statuses: list[int] = []
    with requests.Session() as session:
        for operation in operations:
            strategy = poisoned(operation.as_strategy(generation_mode=GenerationMode.POSITIVE))

            @POISONED
            @given(drawn=strategy)
            def refused(drawn: tuple[Case, bool]) -> None:
                case, in_body = drawn
                response = case.call(session=session, headers=headers, timeout=10)
                case.validate_response(response, checks=[not_a_server_error])
                if in_body:
                    assert response.status_code == 422, response.text
                statuses.append(response.status_code)

            refused()
    assert statuses.count(422) >= 10, statuses
