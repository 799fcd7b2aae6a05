"""Running an action's handler for one response: one branch per handler kind
(docs/actions.md, "Handlers").

- ``webhook``: the response POSTed, signed, to the host system (``webhook_handler.py``);
- ``python``: the callable registered under the handler's name in the ``pushgate.actions``
  entry point group, called with the :class:`ActionResponse` within the handler's timeout.
  An exception is a failure not retried (the same code would raise again); a timeout is
  retried (what it waited for may answer next time). A sync callable runs in a thread,
  which a timeout cannot stop: it runs on, its answer unread;
- ``record``: nothing runs; the stored response is the point.
"""

from __future__ import annotations

import asyncio
import inspect
from importlib.metadata import entry_points
from typing import Any, assert_never

import orjson

from pushgate.core.actions import (
    ENTRY_POINT_GROUP,
    ActionDefinition,
    ActionResponse,
    PythonHandler,
)
from pushgate.core.ports import ActionLookup
from pushgate.core.responses import (
    HandlerFailed,
    HandlerOutcome,
    HandlerResult,
    HandlerRetry,
    HandlerSucceeded,
)
from pushgate.delivery.webhook_handler import WebhookHandlerClient
from pushgate.providers.upstream_text import clean_detail

MAX_OUTPUT_BYTES = 4096


class ActionHandlers:
    """Runs handlers of every kind; holds the webhook client open between runs."""

    def __init__(self, actions: ActionLookup, webhooks: WebhookHandlerClient) -> None:
        self.actions = actions
        self.webhooks = webhooks

    async def close(self) -> None:
        await self.webhooks.close()

    async def run(self, action: ActionDefinition, response: ActionResponse) -> HandlerOutcome:
        handler = action.handler
        match handler.kind:
            case "webhook":
                secret = await self.actions.handler_secret(action.id)
                return await self.webhooks.call(handler, secret, response)
            case "python":
                return await run_python(handler, response)
            case "record":
                return HandlerSucceeded(HandlerResult())
            case _:
                assert_never(handler)


def find_entry_point(name: str) -> Any:
    """The callable registered as ``name`` in the ``pushgate.actions`` group, or None."""
    for point in entry_points(group=ENTRY_POINT_GROUP, name=name):
        return point.load()
    return None


async def run_python(handler: PythonHandler, response: ActionResponse) -> HandlerOutcome:
    try:
        target = find_entry_point(handler.name)
    except Exception as exc:  # an import error in the host's module
        return HandlerFailed(HandlerResult(error=_error(f"cannot load {handler.name!r}", exc)))
    if target is None or not callable(target):
        error = f"no callable {handler.name!r} in entry point group {ENTRY_POINT_GROUP}"
        return HandlerFailed(HandlerResult(error=error))
    try:
        async with asyncio.timeout(handler.timeout_seconds):
            value = await _call(target, response)
    except TimeoutError:
        return HandlerRetry(HandlerResult(error=f"timeout after {handler.timeout_seconds:g} s"))
    except Exception as exc:
        return HandlerFailed(HandlerResult(error=_error("handler raised", exc)))
    return _returned(value)


async def _call(target: Any, response: ActionResponse) -> Any:
    if inspect.iscoroutinefunction(target):
        return await target(response)
    value = await asyncio.to_thread(target, response)
    return await value if inspect.isawaitable(value) else value


def _returned(value: Any) -> HandlerOutcome:
    """A dict that is JSON (bounded) or None is the result; anything else a failure."""
    if value is None:
        return HandlerSucceeded(HandlerResult())
    if not isinstance(value, dict):
        error = f"handler returned {type(value).__name__}, not a dict or None"
        return HandlerFailed(HandlerResult(error=error))
    try:
        encoded = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError) as exc:
        return HandlerFailed(HandlerResult(error=_error("handler returned no JSON", exc)))
    if len(encoded) > MAX_OUTPUT_BYTES:
        error = f"handler returned more than {MAX_OUTPUT_BYTES} bytes of JSON"
        return HandlerFailed(HandlerResult(error=error))
    return HandlerSucceeded(HandlerResult(output=orjson.loads(encoded)))


def _error(prefix: str, exc: BaseException) -> str:
    return clean_detail(f"{prefix}: {type(exc).__name__}: {exc}")
