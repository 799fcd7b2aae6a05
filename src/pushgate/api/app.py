"""The FastAPI application, assembled around already-built services."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp

from pushgate import __version__
from pushgate.api import errors
from pushgate.api.json_gate import JsonGate
from pushgate.api.limits import BodyLimit
from pushgate.api.routes import apps, devices, notifications, ops, queue, tenants, users
from pushgate.console import routes as console
from pushgate.wiring import Services


def create_app(services: Services) -> ASGIApp:
    """The ASGI app: routers, the one error shape, the body-size bound and the input rules."""
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
    for module in (devices, notifications, users, apps, tenants, queue):
        api.include_router(module.router, responses=errors.REGISTRY_ERRORS)
    api.include_router(ops.router)
    api.include_router(console.router)
    # Bodies are bounded first, then judged by the input rules, then read by the routes.
    return BodyLimit(JsonGate(api), services.settings.max_body_bytes)
