"""The FastAPI application, assembled around already-built services."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse
from starlette.types import ASGIApp

from pushgate import __version__
from pushgate.api import errors
from pushgate.api.limits import BodyLimit
from pushgate.api.routes import apps, devices, ops, tenants, users
from pushgate.wiring import Services


def create_app(services: Services) -> ASGIApp:
    """The ASGI app: routers, the one error shape, and the body-size bound."""
    api = FastAPI(
        title="pushgate",
        version=__version__,
        description="Self-hosted push notification gateway.",
        default_response_class=ORJSONResponse,
        docs_url="/docs",
        redoc_url=None,
    )
    api.state.services = services
    errors.install(api)
    for module in (ops, tenants, apps, users, devices):
        api.include_router(module.router)
    return BodyLimit(api, services.settings.max_body_bytes)
