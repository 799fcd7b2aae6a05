"""Device registration served as plain ASGI, ahead of FastAPI (bench/README.md,
"registration.py").

Apps register devices at every start and on every token refresh, so this is the busiest
keyed write. FastAPI's routing over every route and its dependency solving cost several
times what registering the device does. ``POST /v1/apps/{app}/devices`` is therefore
answered here with the same core call, the same validation of the body (its pydantic
model, as FastAPI runs it) and the same error shape. The FastAPI route in
``api/routes/devices.py`` stays: it documents the endpoint in ``/openapi.json`` and
answers every request this one hands on: any other method, a caller ``KeyGate`` has not
authenticated, a path, query, header or content type beyond what the route declares, an
empty body. FastAPI's own answers to those stay the ones clients see.

It sits inside ``BodyLimit`` and ``JsonGate`` like the answer endpoint, so the body's
bounds and the input rules hold as before.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

import orjson
from pydantic import ValidationError
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from pushgate.api.errors import body_validation_response, domain_response, error_response
from pushgate.api.json_answer import JsonAnswer
from pushgate.api.json_gate import is_json, read_body, replay
from pushgate.api.keygate import known_caller
from pushgate.api.schemas import DeviceOut
from pushgate.api.scope_headers import header
from pushgate.core.access import Caller
from pushgate.core.inputs import NAME_PATTERN, DeviceInput
from pushgate.errors import PushgateError
from pushgate.wiring import Services

PATH_TEMPLATE = "/v1/apps/{app}/devices"
# Starlette's ``{app}`` matches ``[^/]+``; ``scope["path"]`` is already percent-decoded.
_PATH = re.compile(r"^/v1/apps/([^/]+)/devices$")
_NAME = re.compile(NAME_PATTERN)
# The route's bound on ``Pushgate-User-Token`` (api/routes/devices.py).
MAX_USER_TOKEN_CHARS = 4096


class RegistrationEndpoint:
    """Pure ASGI: answers device registrations itself, hands everything else to ``app``."""

    def __init__(self, app: ASGIApp, services: Services, route: BaseRoute | None = None) -> None:
        """``route``: the FastAPI route, left in ``scope["route"]`` as routing would, for
        what outside reads the route answered (the access log, the HTTP metrics)."""
        self.app = app
        self.services = services
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        taken = _taken(scope) if scope["type"] == "http" and scope["method"] == "POST" else None
        if taken is None:
            await self.app(scope, receive, send)
            return
        who, app, tenant, user_token = taken
        body, ended = await read_body(receive)
        if ended:
            return  # the client went away before its body came
        if not body:
            # FastAPI's "field required" answer for a missing body is its own to give; the
            # body is read, so it gets a receive that hands the (empty) body on.
            await self.app(scope, replay(body, ended, receive), send)
            return
        if self.route is not None:
            scope["route"] = self.route
        answered = await self._registered(who, app, tenant, user_token, body)
        await answered(scope, receive, send)

    async def _registered(
        self, who: Caller, app: str, tenant: str | None, user_token: str | None, raw: bytes
    ) -> ASGIApp:
        try:
            # As FastAPI validates a body: the parsed JSON in Python mode, errors under "body".
            device = DeviceInput.model_validate(orjson.loads(raw), from_attributes=True)
        except orjson.JSONDecodeError:
            # JsonGate refuses malformed JSON before this; kept for what reaches it alone.
            return error_response(400, "malformed_json", "the request body is not valid JSON")
        except ValidationError as exc:
            return body_validation_response(exc)
        services = self.services
        try:
            found = await services.access.tenant_for(who, tenant)
            made = await services.registry.register_device(who, found, app, device, user_token)
        except PushgateError as exc:
            return domain_response(exc)
        content = DeviceOut.of(made.device).model_dump_json().encode()
        return JsonAnswer(201 if made.created else 200, content)


def _taken(scope: Scope) -> tuple[Caller, str, str | None, str | None] | None:
    """The caller, app, tenant and user token of a registration this endpoint answers;
    None to hand the request on."""
    found = _PATH.match(scope["path"])
    who = known_caller(scope)
    if found is None or who is None or _NAME.match(found.group(1)) is None:
        return None
    try:
        return who, found.group(1), _tenant(scope["query_string"]), _user_token(scope)
    except _HandOn:
        return None


class _HandOn(Exception):
    """The request is one the route judges itself."""


def _tenant(query: bytes) -> str | None:
    """The ``tenant`` query parameter, or None; anything else in the query (another
    parameter, a repeat, a tenant out of its pattern) is the route's to judge."""
    if not query:
        return None
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    if len(pairs) != 1 or pairs[0][0] != "tenant" or _NAME.match(pairs[0][1]) is None:
        raise _HandOn
    return pairs[0][1]


def _user_token(scope: Scope) -> str | None:
    """The user token, or None; a body the routes would not read as JSON, or a token
    beyond the route's bound, is the route's to judge."""
    user_token = header(scope, b"pushgate-user-token")
    if not is_json(scope) or (user_token is not None and len(user_token) > MAX_USER_TOKEN_CHARS):
        raise _HandOn
    return user_token
