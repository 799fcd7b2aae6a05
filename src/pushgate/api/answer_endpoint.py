"""The answer route served as plain ASGI, ahead of FastAPI (docs/actions.md, "Throughput").

Devices answering a broadcast with actions arrive in bursts, and FastAPI's routing over
every route, its dependency solving and its response model cost more than checking and
recording the answer itself. ``POST /v1/push/{app}/action/{action}`` (and the same under
``/api/now``) is therefore answered here, by the same core call and with the same error
shape, before FastAPI sees the request. The FastAPI route in ``api/routes/answers.py``
stays: it documents the endpoint in ``/openapi.json`` and answers every request this one
hands on, namely any other method, or a path or header beyond the bounds the route
declares (FastAPI's own 405 and 422 answers stay the ones clients see).

It sits inside ``BodyLimit`` and ``JsonGate``, so the body's bounds (16 KiB, the body
timeout, the shared budget) and the URL rules hold as before; an unexpected error reaches
``errors.Unexpected`` as any route's does.
"""

from __future__ import annotations

import re

import orjson
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from pushgate.api.answer_body import read_answer
from pushgate.api.answer_schemas import answer_json
from pushgate.api.errors import domain_response
from pushgate.api.json_answer import JsonAnswer
from pushgate.api.json_gate import read_body
from pushgate.api.routes.answers import (
    MAX_ACTION_CHARS,
    MAX_APP_CHARS,
    MAX_USER_TOKEN_CHARS,
    PREFIXES,
    bearer_of,
)
from pushgate.api.scope_headers import header
from pushgate.core.answers import Answers
from pushgate.errors import PushgateError

# Starlette's ``{name}`` matches ``[^/]+``; ``scope["path"]`` is already percent-decoded.
_PATH = re.compile(
    "^(" + "|".join(re.escape(prefix) for prefix in PREFIXES) + ")/([^/]+)/action/([^/]+)$"
)


class AnswerEndpoint:
    """Pure ASGI: answers the answer route itself, hands everything else to ``app``."""

    def __init__(
        self, app: ASGIApp, answers: Answers, routes: dict[str, BaseRoute] | None = None
    ) -> None:
        """``routes``: the FastAPI answer route of each prefix, left in the request's
        ``scope["route"]`` as routing would, for what outside reads the route answered."""
        self.app = app
        self.answers = answers
        self.routes = routes or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            found = _PATH.match(scope["path"])
            if found is not None:
                prefix, app, action = found.groups()
                authorization = header(scope, b"authorization")
                user_token = header(scope, b"pushgate-user-token")
                if (
                    len(app) <= MAX_APP_CHARS
                    and len(action) <= MAX_ACTION_CHARS
                    and (user_token is None or len(user_token) <= MAX_USER_TOKEN_CHARS)
                ):
                    if prefix in self.routes:
                        scope["route"] = self.routes[prefix]
                    body, ended = await read_body(receive)
                    if ended:
                        return  # the client went away before its body came
                    answered = await self._answered(
                        prefix, app, action, body, authorization, user_token
                    )
                    await answered(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _answered(
        self,
        prefix: str,
        app: str,
        action: str,
        raw: bytes,
        authorization: str | None,
        user_token: str | None,
    ) -> ASGIApp:
        try:
            done = await self.answers.answer(
                app, action, bearer_of(authorization), read_answer(raw), user_token
            )
        except PushgateError as exc:
            return domain_response(exc)
        if done.outcome == "pending":
            status, body = 202, answer_json(done.response, f"{prefix}/responses/{done.response.id}")
        else:
            status, body = 200, answer_json(done.response)
        return JsonAnswer(status, orjson.dumps(body))
