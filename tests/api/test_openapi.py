"""Property-based run over the published OpenAPI document (schemathesis, SQLite).

Every registry operation gets generated requests, both valid and invalid by the schema,
sent as an instance admin to a real server: no answer may be a 5xx, and every answer must
match what ``/openapi.json`` says about it. Then valid requests with one value replaced
by input nothing can hold (NUL, lone surrogates, integers beyond 64 bits, deep nesting),
and a stateful run along the links between operations (api/links.py), each scenario in a
tenant of its own. Each run is bounded: a fixed number of examples, derandomized (a fixed
seed).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.transport import Response
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput
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
    # The document is built on its first request: seconds of CPU on a busy machine.
    loaded = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json", timeout=120)
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


# The operations are split into shards, each a test of its own, so that the suite's
# workers share them instead of one worker running every operation in turn.
SHARDS = 4


@pytest.mark.parametrize("shard", range(SHARDS))
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_registry_operations_follow_their_schema(
    api_schema: schemathesis.BaseSchema, server: LiveServer, mode: GenerationMode, shard: int
) -> None:
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    every = [result.ok() for result in api_schema.get_all_operations()]
    assert len(every) >= 20 * SHARDS
    operations = sorted(every, key=lambda operation: operation.label)[shard::SHARDS]
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
    # run is refused 401 before its body is judged (tests/api/test_action_answers.py); nor
    # a source's inbound route, where the source and its verification are judged before
    # the body (tests/api/test_inbound.py).
    keyed = api_schema.exclude(path_regex=r"^/v1/(push|inbound)/")
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


# -- the links between operations, and a stateful run along them ------------------------------


def test_a_send_answered_again_matches_its_schema(
    api_schema: schemathesis.BaseSchema, server: LiveServer
) -> None:
    """The same send with the same idempotency key answers 200, which the document lists
    (it once listed only the 202, so a stateful run that sent twice met a mismatch)."""
    headers = {"Authorization": f"Bearer {server.admin_key}", "Idempotency-Key": "again-1"}
    body = {"app": "again", "audience": {"users": ["ana"]}, "title": "Booked"}
    operation = api_schema["/v1/notifications"]["POST"]
    with requests.Session() as session:
        made = session.post(
            f"{server.base_url}/v1/apps", json={"name": "again"}, headers=headers, timeout=10
        )
        assert made.status_code == 201, made.text
        statuses = []
        for _ in range(2):
            case = operation.Case(body=body, headers=headers, media_type="application/json")
            response = case.call(session=session, timeout=10)
            case.validate_response(response, checks=CHECKS)
            statuses.append(response.status_code)
    assert statuses == [202, 200]


def request_values(document: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    """What of a request to ``operation`` a link may name: ``$request.path.app``,
    ``$request.body#/user``..."""
    named = {f"$request.{p['in']}.{p['name']}" for p in operation.get("parameters", [])}
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    body = content.get("schema", {})
    if "$ref" in body:
        body = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    return named | {f"$request.body#/{field}" for field in body.get("properties", {})}


def test_every_link_names_an_operation_and_its_parameters(server: LiveServer) -> None:
    document = requests.get(f"{server.base_url}/openapi.json", timeout=120).json()
    operations = {
        op["operationId"]: op for ops in document["paths"].values() for op in ops.values()
    }
    followed: set[str] = set()
    for ops in document["paths"].values():
        for source in ops.values():
            given = request_values(document, source)
            for status, answer in source["responses"].items():
                for name, link in answer.get("links", {}).items():
                    assert status.startswith("2"), (name, status)
                    target = operations[link["operationId"]]
                    taken = {f"{p['in']}.{p['name']}" for p in target.get("parameters", [])}
                    # A link names the resource in the target's path or body; the rest
                    # (a credential's kind, a notification's audience) is the client's.
                    assert any(k.startswith("path.") for k in link["parameters"]) or (
                        "requestBody" in link and "requestBody" in target
                    ), name
                    assert set(link["parameters"]) <= taken, name
                    expressions = [
                        *link["parameters"].values(),
                        *link.get("requestBody", {}).values(),
                    ]
                    for expression in expressions:
                        assert expression in given or expression.startswith("$response.body#/"), (
                            name,
                            expression,
                        )
                    followed.add(link["operationId"])
    # Each resource's own operations are reached: an app's, a user's, a device's, a key's,
    # an action's, an action set's and a notification's, and sending.
    assert len(followed) >= 30, sorted(followed)


# Scenarios of up to this many calls, this many of them: about 20 s here.
STATEFUL = settings(BOUNDED, max_examples=60, stateful_step_count=10)
# Only the links the document publishes (api/links.py), not ones schemathesis guesses.
PUBLISHED_LINKS_ONLY = SchemathesisConfig.from_dict(
    {"seed": 13, "phases": {"stateful": {"inference": {"algorithms": []}}}}
)


@dataclass
class Followed:
    """What the stateful run did: each call's operation, answer and the link it followed."""

    calls: list[tuple[str, int, str | None]] = field(default_factory=list)

    def linked_successes(self) -> set[str]:
        return {link for _, status, link in self.calls if link is not None and status < 300}


def scenario_caller(server: LiveServer, session: requests.Session) -> Callable[[], str]:
    """Make a tenant of its own and an admin key of it, for one scenario; its key.

    A scenario's answers must depend only on its own calls: Hypothesis replays choices and
    checks that the same choices draw the same way, and which links can be followed is
    drawn from earlier answers. Shared state (an app name taken by an earlier scenario,
    so a 409 where a 201 was) made the run flaky."""
    made = itertools.count()
    admin = {"Authorization": f"Bearer {server.admin_key}"}

    def caller() -> str:
        name = f"stateful-{next(made)}"
        created = session.post(
            f"{server.base_url}/v1/tenants", json={"name": name}, headers=admin, timeout=10
        )
        assert created.status_code == 201, created.text
        key = session.post(
            f"{server.base_url}/v1/keys",
            json={"name": "stateful run", "scopes": ["admin"], "tenant": name},
            headers=admin,
            timeout=10,
        )
        assert key.status_code == 201, key.text
        return str(key.json()["key"])

    return caller


def test_stateful_run_along_the_links(server: LiveServer) -> None:
    """Sequences of calls that follow the published links (an app made, then read, its
    actions defined, a user made and their devices listed, a notification sent and
    cancelled...), each scenario in a tenant of its own."""
    schema = schemathesis.openapi.from_url(
        f"{server.base_url}/openapi.json", config=PUBLISHED_LINKS_ONLY, timeout=120
    ).include(path_regex=r"^/v1/")
    followed = Followed()
    with requests.Session() as session:
        new_caller = scenario_caller(server, session)

        class Workflow(schema.as_state_machine()):  # type: ignore[misc]
            def setup(self) -> None:
                self.headers = {"Authorization": f"Bearer {new_caller()}"}

            def get_call_kwargs(self, case: Case) -> dict[str, object]:
                return {"headers": self.headers, "session": session, "timeout": 10}

            def step(self, input: StepInput) -> StepOutput:
                output = super().step(input)
                link = input.transition.id if input.transition and input.is_applied else None
                followed.calls.append(
                    (input.case.operation.label, output.response.status_code, link)
                )
                return output

            def validate_response(
                self,
                response: Response,
                case: Case,
                additional_checks: object = None,
                **kwargs: Any,
            ) -> None:
                case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

        Workflow.run(settings=STATEFUL)
    assert len(followed.calls) >= STATEFUL.max_examples, followed.calls
    # The run went along links, not only around them: several chains answered 2xx.
    assert len(followed.linked_successes()) >= 5, followed.calls
