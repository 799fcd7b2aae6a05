"""The FastAPI application, assembled around already-built services."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from pushgate import __version__
from pushgate.api import docs_pages, errors, links, registration_endpoint
from pushgate.api.access_log import AccessLog
from pushgate.api.answer_endpoint import AnswerEndpoint
from pushgate.api.body_examples import add_body_examples
from pushgate.api.cors import CrossOrigin
from pushgate.api.credential_schemas import add_credential_schemas
from pushgate.api.deps import SERVICES_SCOPE_KEY
from pushgate.api.error_statuses import keep_answerable_statuses
from pushgate.api.inbound_endpoint import PREFIX as INBOUND_PREFIX
from pushgate.api.inbound_endpoint import InboundEndpoint
from pushgate.api.interaction_endpoint import InteractionEndpoint
from pushgate.api.json_gate import JsonGate
from pushgate.api.keygate import KeyGate
from pushgate.api.limits import BodyBudget, BodyLimit
from pushgate.api.registration_endpoint import RegistrationEndpoint
from pushgate.api.routes import (
    actions,
    answers,
    apps,
    audit,
    devices,
    events,
    inbound,
    interactions,
    notifications,
    operational_events,
    ops,
    packages,
    preferences,
    queue,
    relay,
    reports,
    sources,
    tenants,
    triggers,
    types,
    units,
    users,
)
from pushgate.console import routes as console
from pushgate.sdk import routes as sdk
from pushgate.wiring import Services


@functools.cache
def _api() -> FastAPI:
    """The FastAPI app of every set of services in this process: routers, the one error
    shape, the OpenAPI document. It holds no services (each request's scope brings its
    own, ``create_app``), so it is built once: FastAPI builds a route's parameters and
    models at the first request that reaches its router, about 0.3 s of CPU for an app's
    routers, which a process that builds services many times (a test suite) paid for
    every app."""
    api = FastAPI(
        title="pushgate",
        version=__version__,
        description="Self-hosted push notification gateway.",
        docs_url=None,
        redoc_url=None,
    )
    api.openapi = functools.partial(_openapi, api)  # type: ignore[method-assign]
    errors.install(api)
    # Starlette tries routes in order and the paths do not overlap, so the busiest ones
    # (devices' interaction reports, device registration, sends) come first: matching is
    # a share of a request's cost.
    api.include_router(interactions.router)
    for module in (
        devices,
        notifications,
        users,
        apps,
        actions,
        types,
        triggers,
        events,
        packages,
        sources,
        tenants,
        units,
        preferences,
        queue,
        audit,
        operational_events,
        reports,
        relay,
    ):
        api.include_router(module.router, responses=errors.REGISTRY_ERRORS)
    for router in answers.routers:
        api.include_router(router)
    api.include_router(inbound.router)
    api.include_router(ops.router)
    api.include_router(console.router)
    api.include_router(sdk.router)
    docs_pages.install(api)
    return api


def create_app(services: Services) -> ASGIApp:
    """The ASGI app: routers, the one error shape, the bounds on request bodies and the
    input rules.

    Outermost first: the access log and HTTP metrics see every answer; an unexpected
    error still gets the one error shape; the API key is checked from the headers; only
    then may a body be read, within its bounds, and judged by the input rules before a
    route reads it."""
    api = _api()
    settings = services.settings
    # Answers and devices' interaction reports skip FastAPI (api/answer_endpoint.py,
    # api/interaction_endpoint.py), past the body bounds and URL rules.
    answering = AnswerEndpoint(_WithServices(api, services), services.answers, _answer_routes())
    # So do device registrations (api/registration_endpoint.py).
    registering = RegistrationEndpoint(
        answering, services, _route_of(devices.router, registration_endpoint.PATH_TEMPLATE, "POST")
    )
    reporting = InteractionEndpoint(
        registering,
        services.interactions,
        _route_of(interactions.router, interactions.PATH, "POST"),
    )
    bounded = BodyLimit(
        JsonGate(reporting, raw_prefixes=(*answers.PREFIXES, interactions.PATH)),
        settings.max_body_bytes,
        budget=BodyBudget(settings.max_bodies_in_flight_bytes),
        body_seconds=settings.body_timeout_seconds,
        smaller=(
            *((prefix, answers.ANSWER_MAX_BODY_BYTES) for prefix in answers.PREFIXES),
            (interactions.PATH, interactions.INTERACTIONS_MAX_BODY_BYTES),
        ),
    )
    # A source's verification authenticates its hosts' requests, answered outside the
    # body bounds so that each refusal keeps the source's own shape (api/inbound_endpoint.py).
    receiving = InboundEndpoint(
        bounded,
        services.inbound,
        services.metrics,
        max_bytes=settings.max_body_bytes,
        body_seconds=settings.body_timeout_seconds,
        budget=bounded.budget,
        route=_route_of(inbound.router, f"{inbound.PATH}/{{source}}", "POST"),
    )
    # The trailing "/" keeps "/v1/pushes…" keyed; devices report with tokens, not keys.
    open_paths = (
        *(f"{prefix}/" for prefix in answers.PREFIXES),
        interactions.PATH,
        INBOUND_PREFIX,
    )
    # Browser clients' preflights are answered before any key is asked for (api/cors.py).
    return AccessLog(
        CrossOrigin(
            errors.Unexpected(
                KeyGate(receiving, services.access, services.limits, open_prefixes=open_paths)
            )
        ),
        services.metrics,
        lambda: api.routes,
    )


class _WithServices:
    """Pure ASGI: puts ``services`` in each request's scope and hands it to ``app``."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[SERVICES_SCOPE_KEY] = self.services
        await self.app(scope, receive, send)


def _route_of(router: APIRouter, path: str, method: str) -> BaseRoute:
    """The route of ``method`` on ``path`` (a template, as the route declares it)."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path == path and method in (route.methods or ()):
            return route
    raise RuntimeError(f"no route {method} {path}")


def _answer_routes() -> dict[str, BaseRoute]:
    """The FastAPI answer route of each prefix (api/answer_endpoint.py names it)."""
    return {
        prefix: _route_of(router, f"{prefix}/{{app}}/action/{{action}}", "POST")
        for prefix, router in zip(answers.PREFIXES, answers.routers, strict=True)
    }


def _openapi(api: FastAPI) -> dict[str, Any]:
    """The generated document with its two ways to authenticate (an API key on every
    route, but a response token on the answer routes, docs/actions.md), the links
    between operations (api/links.py), the typed credential bodies
    (api/credential_schemas.py), an example of every request body (api/body_examples.py)
    and only the error statuses each keyed operation can answer (api/error_statuses.py);
    built once, then kept."""
    if api.openapi_schema is None:
        schema = get_openapi(
            title=api.title,
            version=api.version,
            description=api.description,
            routes=api.routes,
        )
        schema.setdefault("components", {})["securitySchemes"] = {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (`pgk_…`), sent as `Authorization: Bearer`.",
            },
            "responseToken": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "pushgate response token",
                "description": "The response token a push with actions carries "
                "(`pushgate.token`): 116 characters of base64url, signed by the instance, "
                "naming one delivery. Sent as `Authorization: Bearer`, or as the answer "
                "body's `token`. No API key is needed on these routes.",
            },
            "interactionToken": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "pushgate interaction token",
                "description": "Not a header: every event of `POST /v1/interactions` carries "
                "its push's interaction token (`pushgate.itoken`, 55 characters of "
                "base64url, signed by the instance for one delivery) as its `token`. No API "
                "key is needed on that route.",
            },
        }
        schema["security"] = [{"apiKey": []}]
        links.add_links(schema)
        add_credential_schemas(schema)
        add_body_examples(schema)
        # The answer routes take a response token, not a key, and list their own statuses.
        keep_answerable_statuses(
            schema, prefix="/v1/", skip=(*answers.PREFIXES, interactions.PATH, inbound.PATH)
        )
        api.openapi_schema = schema
    return api.openapi_schema
