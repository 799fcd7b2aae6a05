"""The FastAPI application, assembled around already-built services."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from pushgate import __version__
from pushgate.api import errors, links
from pushgate.api.json_gate import JsonGate
from pushgate.api.keygate import KeyGate
from pushgate.api.limits import BodyBudget, BodyLimit
from pushgate.api.routes import (
    actions,
    apps,
    audit,
    devices,
    notifications,
    operational_events,
    ops,
    queue,
    tenants,
    users,
)
from pushgate.console import routes as console
from pushgate.wiring import Services


def create_app(services: Services) -> ASGIApp:
    """The ASGI app: routers, the one error shape, the bounds on request bodies and the
    input rules.

    Outermost first: an unexpected error still gets the one error shape; the API key is
    checked from the headers; only then may a body be read, within its bounds, and judged
    by the input rules before a route reads it."""
    api = FastAPI(
        title="pushgate",
        version=__version__,
        description="Self-hosted push notification gateway.",
        docs_url="/docs",
        redoc_url=None,
    )
    api.state.services = services
    errors.install(api)
    # Starlette tries routes in order and the paths do not overlap, so the busiest ones
    # (device registration, sends) come first: matching is a share of a request's cost.
    for module in (
        devices,
        notifications,
        users,
        apps,
        actions,
        tenants,
        queue,
        audit,
        operational_events,
    ):
        api.include_router(module.router, responses=errors.REGISTRY_ERRORS)
    api.include_router(ops.router)
    api.include_router(console.router)
    links.install(api)
    settings = services.settings
    bounded = BodyLimit(
        JsonGate(api),
        settings.max_body_bytes,
        budget=BodyBudget(settings.max_bodies_in_flight_bytes),
        body_seconds=settings.body_timeout_seconds,
    )
    return errors.Unexpected(KeyGate(bounded, services.access, services.limits))
