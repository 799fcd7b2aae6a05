"""Devices answer actionable notifications (docs/actions.md, "Answering a notification").

No API key: a response token authenticates, from ``Authorization: Bearer`` or the body's
``token``. The same routes are served under ``/api/now`` too, the path service-desk
mobile apps post to. ``api/keygate.py`` lets these paths through without a key and
``api/limits.py`` holds their bodies to :data:`ANSWER_MAX_BODY_BYTES`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.security.utils import get_authorization_scheme_param

from pushgate.api.answer_body import read_answer
from pushgate.api.answer_schemas import AnswerIn, AnswerOut
from pushgate.api.deps import ServicesDep
from pushgate.api.errors import documented

PREFIXES = ("/v1/push", "/api/now/v1/push")
# An answer is a token, a typed line and a little data (input ≤ 2000 characters, data
# ≤ 4096 bytes): 16 KiB holds the largest with room for JSON escapes.
ANSWER_MAX_BODY_BYTES = 16 * 1024
# Not an API key: the push's own token, or none here when it is in the body.
SECURITY: dict[str, Any] = {"security": [{"responseToken": []}, {}]}
ANSWER_BODY: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": AnswerIn.model_json_schema()}},
    }
}
# The bounds the route declares; api/answer_endpoint.py hands anything beyond them here.
MAX_APP_CHARS, MAX_ACTION_CHARS, MAX_USER_TOKEN_CHARS = 128, 64, 4096
AppName = Annotated[str, Path(max_length=MAX_APP_CHARS)]
ActionRef = Annotated[str, Path(max_length=MAX_ACTION_CHARS, description="The action's id or key.")]
ResponseId = Annotated[str, Path(max_length=64)]
UserToken = Annotated[
    str | None,
    Header(
        max_length=MAX_USER_TOKEN_CHARS,
        description="For an action that requires authentication: the host system's user "
        "token for the user the push went to.",
    ),
]
ERRORS = documented(400, 401, 403, 404, 409, 413, 422, 429, 502)


def bearer_of(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header (None without one)."""
    scheme, value = get_authorization_scheme_param(authorization)
    return value if scheme.lower() == "bearer" and value else None


def _bearer(request: Request) -> str | None:
    return bearer_of(request.headers.get("authorization"))


def answer_router(prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["answers"])

    @router.post(
        "/{app}/action/{action}",
        responses={**ERRORS, 202: {"model": AnswerOut, "description": "Still being handled."}},
        openapi_extra={**SECURITY, **ANSWER_BODY},
        operation_id=f"answer{'_servicedesk' if prefix != PREFIXES[0] else ''}",
    )
    async def answer(
        svc: ServicesDep,
        request: Request,
        response: Response,
        app: AppName,
        action: ActionRef,
        pushgate_user_token: UserToken = None,
    ) -> AnswerOut:
        """Answer an action of a push: 200 with the handler's result, 202 while it runs."""
        body = read_answer(await request.body())
        done = await svc.answers.answer(app, action, _bearer(request), body, pushgate_user_token)
        if done.outcome == "pending":
            response.status_code = 202
            return AnswerOut.of(done.response, f"{prefix}/responses/{done.response.id}")
        return AnswerOut.of(done.response)

    @router.get(
        "/responses/{response_id}",
        responses=documented(401, 404, 429),
        openapi_extra=SECURITY,
        operation_id=f"read_answer{'_servicedesk' if prefix != PREFIXES[0] else ''}",
    )
    async def read(svc: ServicesDep, request: Request, response_id: ResponseId) -> AnswerOut:
        """A response of the token's delivery, and where its handling stands."""
        return AnswerOut.of(await svc.answers.read(_bearer(request), response_id))

    return router


routers = [answer_router(prefix) for prefix in PREFIXES]
