"""Devices report what became of their pushes (docs/reports.md, "Reporting interactions").

No API key: each event carries its push's interaction token, or names its device under
the app's user token (``Pushgate-User-Token``). ``api/keygate.py`` lets this
path through without a key and ``api/limits.py`` holds its bodies to
:data:`INTERACTIONS_MAX_BODY_BYTES`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header

from pushgate.api.deps import ServicesDep
from pushgate.api.errors import documented
from pushgate.api.interaction_schemas import InteractionsIn, InteractionsOut
from pushgate.api.routes.answers import MAX_USER_TOKEN_CHARS

PATH = "/v1/interactions"
# 100 events of ~350 bytes each (ids, token, key, time, names), with room for whitespace.
INTERACTIONS_MAX_BODY_BYTES = 64 * 1024
SECURITY: dict[str, Any] = {"security": [{"interactionToken": []}]}

UserToken = Annotated[
    str | None,
    Header(
        max_length=MAX_USER_TOKEN_CHARS,
        description="The app's user token, signed by the host system: needed by events "
        "that name their `device` instead of carrying their push's token.",
    ),
]

router = APIRouter(tags=["interactions"])


@router.post(
    PATH,
    responses=documented(400, 401, 403, 404, 413, 422, 429),
    openapi_extra=SECURITY,
)
async def report_interactions(
    svc: ServicesDep, body: InteractionsIn, pushgate_user_token: UserToken = None
) -> InteractionsOut:
    """Report up to 100 events of pushes: received, opened, dismissed, an action tapped.
    Each event carries its push's token, or names its device under the app's user token."""
    outcome = await svc.interactions.report(
        body.app, [event.report() for event in body.events], pushgate_user_token
    )
    return InteractionsOut.of(outcome)
