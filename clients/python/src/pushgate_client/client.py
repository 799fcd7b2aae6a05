"""``Client`` (blocking) and ``AsyncClient`` (asyncio): the same operations, run by httpx.

Each method is an operation of calls.py bound to a client: the operation says what to
send, the client sends it with its base URL, key and tenant, and turns a non-2xx answer
into ``ApiError``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import httpx

from pushgate_client import calls
from pushgate_client.calls import Call
from pushgate_client.errors import ApiError

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def _request(call: Call[Any], key: str | None, tenant: str | None) -> dict[str, Any]:
    """httpx's request arguments for ``call``: query values left out when None."""
    query = {name: value for name, value in call.query.items() if value is not None}
    if tenant is not None:
        query["tenant"] = tenant
    headers = dict(call.headers)
    if key is not None and not call.keyless:
        headers["Authorization"] = f"Bearer {key}"
    arguments: dict[str, Any] = {"params": query, "headers": headers}
    if call.json is not None:
        arguments["json"] = call.json
    return arguments


def _read(call: Call[T], response: httpx.Response) -> T:
    if response.is_success:
        return call.read(response)
    raise _error(response)


def _error(response: httpx.Response) -> ApiError:
    retry_after = response.headers.get("Retry-After")
    wait = float(retry_after) if retry_after and retry_after.isdigit() else None
    try:
        error = response.json()["error"]
        return ApiError(
            response.status_code, error["code"], error["message"], error["details"], wait
        )
    except (ValueError, KeyError, TypeError):
        # Not pushgate's error body (a proxy in between, say): keep what there is.
        return ApiError(response.status_code, "http_error", response.text[:500], {}, wait)


def _blocking(build: Callable[P, Call[T]]) -> Callable[Concatenate[Client, P], T]:
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.run(build(*args, **kwargs))

    method.__name__ = build.__name__
    method.__doc__ = build.__doc__
    return method


def _awaitable(build: Callable[P, Call[T]]) -> Callable[Concatenate[AsyncClient, P], Awaitable[T]]:
    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.run(build(*args, **kwargs))

    method.__name__ = build.__name__
    method.__doc__ = build.__doc__
    return method


class Client:
    """pushgate's API over one keep-alive connection pool.

    ``key`` is an API key (``Authorization: Bearer``); ``tenant`` names the tenant an
    instance admin's key acts in. Use it as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        base_url: str,
        key: str | None = None,
        *,
        tenant: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        http: httpx.Client | None = None,
    ) -> None:
        self._key = key
        self._tenant = tenant
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout)

    def run(self, call: Call[T]) -> T:
        """Send one operation of calls.py and read its answer."""
        arguments = _request(call, self._key, self._tenant)
        return _read(call, self._http.request(call.method, call.path, **arguments))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    list_apps = _blocking(calls.list_apps)
    create_app = _blocking(calls.create_app)
    get_app = _blocking(calls.get_app)
    update_app = _blocking(calls.update_app)
    delete_app = _blocking(calls.delete_app)
    put_credentials = _blocking(calls.put_credentials)
    delete_credentials = _blocking(calls.delete_credentials)
    register_device = _blocking(calls.register_device)
    get_device = _blocking(calls.get_device)
    list_devices = _blocking(calls.list_devices)
    delete_device = _blocking(calls.delete_device)
    put_user = _blocking(calls.put_user)
    get_user = _blocking(calls.get_user)
    list_users = _blocking(calls.list_users)
    list_user_devices = _blocking(calls.list_user_devices)
    delete_user = _blocking(calls.delete_user)
    send_notification = _blocking(calls.send_notification)
    get_notification = _blocking(calls.get_notification)
    list_notifications = _blocking(calls.list_notifications)
    list_deliveries = _blocking(calls.list_deliveries)
    cancel_notification = _blocking(calls.cancel_notification)
    record_event = _blocking(calls.record_event)
    record_events = _blocking(calls.record_events)
    get_event = _blocking(calls.get_event)
    app_report = _blocking(calls.app_report)
    app_series_csv = _blocking(calls.app_series_csv)
    deliveries_csv = _blocking(calls.deliveries_csv)
    report_interactions = _blocking(calls.report_interactions)


class AsyncClient:
    """``Client``'s operations for asyncio: the same arguments, awaited."""

    def __init__(
        self,
        base_url: str,
        key: str | None = None,
        *,
        tenant: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._key = key
        self._tenant = tenant
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def run(self, call: Call[T]) -> T:
        """Send one operation of calls.py and read its answer."""
        arguments = _request(call, self._key, self._tenant)
        return _read(call, await self._http.request(call.method, call.path, **arguments))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    list_apps = _awaitable(calls.list_apps)
    create_app = _awaitable(calls.create_app)
    get_app = _awaitable(calls.get_app)
    update_app = _awaitable(calls.update_app)
    delete_app = _awaitable(calls.delete_app)
    put_credentials = _awaitable(calls.put_credentials)
    delete_credentials = _awaitable(calls.delete_credentials)
    register_device = _awaitable(calls.register_device)
    get_device = _awaitable(calls.get_device)
    list_devices = _awaitable(calls.list_devices)
    delete_device = _awaitable(calls.delete_device)
    put_user = _awaitable(calls.put_user)
    get_user = _awaitable(calls.get_user)
    list_users = _awaitable(calls.list_users)
    list_user_devices = _awaitable(calls.list_user_devices)
    delete_user = _awaitable(calls.delete_user)
    send_notification = _awaitable(calls.send_notification)
    get_notification = _awaitable(calls.get_notification)
    list_notifications = _awaitable(calls.list_notifications)
    list_deliveries = _awaitable(calls.list_deliveries)
    cancel_notification = _awaitable(calls.cancel_notification)
    record_event = _awaitable(calls.record_event)
    record_events = _awaitable(calls.record_events)
    get_event = _awaitable(calls.get_event)
    app_report = _awaitable(calls.app_report)
    app_series_csv = _awaitable(calls.app_series_csv)
    deliveries_csv = _awaitable(calls.deliveries_csv)
    report_interactions = _awaitable(calls.report_interactions)
