"""``POST /v1/interactions`` served as plain ASGI, ahead of FastAPI (docs/reports.md,
"Throughput").

Devices report a broadcast's receipts and opens by the thousand a second, in batches of
up to 100 events, and FastAPI's routing, dependency solving and request model cost more
than checking and recording a batch. This endpoint answers the route itself: the body is
parsed once by the input rules' parser (``api/json_rules.py``: the value it returns is the
value read), the batch validated by the route's own model (``InteractionsIn``), the same
core call made, and every refusal given the same status and shape as the FastAPI route
gave. The FastAPI route (``api/routes/interactions.py``) stays: it documents the endpoint
in ``/openapi.json`` and answers what this one hands on, namely any other method, an
empty body, a body declared as something else than JSON, and a user token header past
the route's bound.

It sits inside ``BodyLimit`` (64 KiB for this path) and ``JsonGate``, which leaves this
path's body to it (``raw_prefixes``) and still checks its URL.
"""

from __future__ import annotations

import orjson
from pydantic import ValidationError
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from pushgate.api.errors import body_validation_response, domain_response, error_response
from pushgate.api.interaction_schemas import InteractionsIn
from pushgate.api.json_answer import JsonAnswer
from pushgate.api.json_gate import is_json, read_body, replay
from pushgate.api.json_rules import NotJson, parse_body
from pushgate.api.routes.answers import MAX_USER_TOKEN_CHARS
from pushgate.api.routes.interactions import PATH
from pushgate.api.scope_headers import header
from pushgate.core.interactions import Interactions, ReportOutcome
from pushgate.errors import PushgateError


class InteractionEndpoint:
    """Pure ASGI: answers ``POST /v1/interactions`` itself, hands everything else to ``app``."""

    def __init__(
        self, app: ASGIApp, interactions: Interactions, route: BaseRoute | None = None
    ) -> None:
        """``route``: the FastAPI route, left in the request's ``scope["route"]`` as
        routing would, for what outside reads the route answered (the access log)."""
        self.app = app
        self.interactions = interactions
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != PATH
            or not is_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        body, ended = await read_body(receive)
        if ended:
            return  # the client went away before its body came
        user_token = header(scope, b"pushgate-user-token")
        if not body or (user_token is not None and len(user_token) > MAX_USER_TOKEN_CHARS):
            # The route answers a missing body and a header past its bound as it always did.
            await self.app(scope, replay(body, ended, receive), send)
            return
        if self.route is not None:
            scope["route"] = self.route
        answer = await self._answered(body, user_token)
        await answer(scope, receive, send)

    async def _answered(self, raw: bytes, user_token: str | None) -> ASGIApp:
        try:
            value, problem = parse_body(raw)
        except NotJson:
            return error_response(400, "malformed_json", "the request body is not valid JSON")
        if problem is not None:
            return error_response(
                422,
                "validation_failed",
                problem.message,
                {"field": problem.path or "body", "reason": problem.problem},
            )
        try:
            batch = InteractionsIn.model_validate(value)
        except ValidationError as exc:
            return body_validation_response(exc)
        try:
            outcome = await self.interactions.report(
                batch.app, [event.report() for event in batch.events], user_token
            )
        except PushgateError as exc:
            return domain_response(exc)
        return JsonAnswer(200, orjson.dumps(_outcome_json(outcome)))


def _outcome_json(outcome: ReportOutcome) -> dict[str, int]:
    """As ``InteractionsOut`` serialises it."""
    return {
        "recorded": outcome.recorded,
        "duplicates": outcome.duplicates,
        "late": outcome.late,
        "expired": outcome.expired,
    }
