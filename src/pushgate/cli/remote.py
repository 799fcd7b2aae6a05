"""The command line as a client of a running server (docs/cli.md).

A command asks ``api()`` for the client and makes one call per thing it needs; the client
turns the API's one error shape (``{"error": {"code", "message", "details"}}``) into a
message on stderr and the documented exit code, so no command handles errors itself.
Which server and key come from the root options (``--url``, ``--key``, ``--profile``),
their environment variables, or the default profile, resolved only when a command first
needs the server: ``--help`` and the local commands never read the profiles.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from pushgate.cli.profiles import load_profiles
from pushgate.cli.runtime import say_error
from pushgate.errors import ConfigError

if TYPE_CHECKING:
    import httpx

TIMEOUT_SECONDS = 30.0
NO_SERVER = (
    "no server to talk to: give --url and --key (or PUSHGATE_URL and PUSHGATE_API_KEY), "
    "or save a profile (`pushgate profile add`); `pushgate serve` saves the profile "
    "'local' on its first start"
)


class ExitCode(IntEnum):
    """What a ``pushgate`` command's exit status means (docs/cli.md, "Exit codes")."""

    OK = 0
    REFUSED = 1  # the server (or the local database) answered with an error
    BAD_INPUT = 2  # bad usage or input, refused here before anything was sent
    UNREACHABLE = 3  # no answer from the server: connection refused, timeout, TLS
    STILL_SENDING = 4  # `send --wait` gave up following before the notification was final
    INTERRUPTED = 130  # Ctrl-C


def fail(message: str, code: ExitCode) -> NoReturn:
    say_error(message)
    raise typer.Exit(code)


@dataclass(frozen=True, slots=True)
class Target:
    """The server a command talks to, and where that choice came from (for messages)."""

    url: str
    key: str
    origin: str


@dataclass(slots=True)
class Choice:
    """The root options as given; resolved into a ``Target`` on first use."""

    url: str | None = None
    key: str | None = None
    profile: str | None = None
    made: Api | None = field(default=None, repr=False)

    def client(self) -> Api:
        if self.made is None:
            self.made = Api(self.target())
        return self.made

    def close(self) -> None:
        if self.made is not None:
            self.made.close()
            self.made = None

    def target(self) -> Target:
        if self.url:
            if not self.key:
                fail("--url needs an API key: --key or PUSHGATE_API_KEY", ExitCode.BAD_INPUT)
            return Target(self.url, self.key, "--url or PUSHGATE_URL")
        try:
            saved = load_profiles()
            if self.profile:
                profile = saved.named(self.profile)
            elif saved.default is not None:
                profile = saved.named(saved.default)
            else:
                fail(NO_SERVER, ExitCode.BAD_INPUT)
        except ConfigError as exc:
            fail(exc.message, ExitCode.BAD_INPUT)
        return Target(profile.url, self.key or profile.key, f"profile {profile.name!r}")


class Api:
    """One HTTP client for the command's calls; every answer is JSON or nothing."""

    def __init__(self, target: Target) -> None:
        import httpx

        from pushgate import __version__

        self.target = target
        self._client = httpx.Client(
            base_url=target.url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {target.key}",
                "User-Agent": f"pushgate-cli/{__version__}",
            },
            timeout=TIMEOUT_SECONDS,
        )

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, **params: object) -> Any:
        return self.call("GET", path, params=params)

    def post(self, path: str, body: object = None, **params: object) -> Any:
        return self.call("POST", path, body=body, params=params)

    def put(self, path: str, body: object = None, **params: object) -> Any:
        return self.call("PUT", path, body=body, params=params)

    def patch(self, path: str, body: object = None, **params: object) -> Any:
        return self.call("PATCH", path, body=body, params=params)

    def delete(self, path: str, **params: object) -> Any:
        return self.call("DELETE", path, params=params)

    def text(self, path: str, **params: object) -> str:
        """A GET whose answer is text (a CSV export), as it came."""
        return self._request("GET", path, body=None, params=params).text

    def call(
        self, method: str, path: str, *, body: object = None, params: dict[str, object]
    ) -> Any:
        """The answer's JSON (None for an empty one); an error answer ends the command."""
        answer = self._request(method, path, body=body, params=params)
        return answer.json() if answer.content else None

    def _request(
        self, method: str, path: str, *, body: object, params: dict[str, object]
    ) -> httpx.Response:
        import httpx

        query = {k: _query_value(v) for k, v in params.items() if v is not None}
        try:
            answer = self._client.request(method, path, params=query, json=body)
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            fail(
                f"cannot reach the server at {self.target.url} ({self.target.origin}): {reason}",
                ExitCode.UNREACHABLE,
            )
        if answer.status_code >= 400:
            _refused(answer, self.target)
        return answer


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value.value if isinstance(value, Enum) else value)


def _refused(answer: httpx.Response, target: Target) -> NoReturn:
    """Print the error as the API gave it and end with its exit code."""
    try:
        error = answer.json()["error"]
        code, message = str(error["code"]), str(error["message"])
        details = error.get("details") or {}
    except (ValueError, KeyError, TypeError):
        code, message, details = f"http_{answer.status_code}", answer.text[:200], {}
    named = str(details.get("field") or "")
    if named and not message.startswith(named):
        message = f"{named}: {message}"
    if answer.status_code == 401:
        message += f" (the key of {target.origin}, on {target.url})"
    say_error(message, code)
    raise typer.Exit(ExitCode.REFUSED)


# The root options of the command being run; the root callback sets them (cli/__init__.py).
CHOICE: ContextVar[Choice] = ContextVar("pushgate_cli_choice")


def api() -> Api:
    """The client for this command's server, made on first use and closed after it."""
    return CHOICE.get(Choice()).client()
