"""``pushgate profile``: the servers the command line talks to (cli/profiles.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pushgate.cli.output import table
from pushgate.cli.profiles import Profile, load_profiles, save_profiles
from pushgate.cli.remote import ExitCode, fail
from pushgate.cli.runtime import ConfigOption, InitOption, console, run_with_services
from pushgate.errors import ConfigError

if TYPE_CHECKING:
    from pushgate.cli.profiles import Profiles
    from pushgate.config import Settings
    from pushgate.wiring import Services

profile = typer.Typer(
    help="Servers the command line talks to: a URL and an API key under a name.",
    no_args_is_help=True,
)
LOCAL = "local"
NameArgument = Annotated[str, typer.Argument(help="The profile's name.")]


def _loaded() -> Profiles:
    try:
        return load_profiles()
    except ConfigError as exc:
        fail(exc.message, ExitCode.BAD_INPUT)


def _save(saved: Profiles) -> None:
    try:
        save_profiles(saved)
    except OSError as exc:
        fail(f"cannot write {saved.path}: {exc}", ExitCode.REFUSED)


@profile.command("add")
def add(
    name: NameArgument,
    url: Annotated[str, typer.Option(help="The server's base URL, e.g. https://push.example.com.")],
    key: Annotated[str, typer.Option(help="An API key of that server.", envvar="PUSHGATE_API_KEY")],
    default: Annotated[
        bool, typer.Option("--default", help="Use it when a command names no profile.")
    ] = False,
) -> None:
    """Save (or replace) a profile; the first one saved becomes the default."""
    saved = _loaded().with_profile(Profile(name, url, key), make_default=default)
    _save(saved)
    console.print(f"saved profile {name} ({url}) in {saved.path}", soft_wrap=True)


@profile.command("list")
def list_profiles() -> None:
    """Saved profiles (never their keys); the default is marked with *."""
    saved = _loaded()
    rows = [
        ("*" if item.name == saved.default else "", item.name, item.url, item.key[:16] + "…")
        for item in saved.items.values()
    ]
    table(("", "name", "url", "key"), rows, caption=str(saved.path))


@profile.command("use")
def use(name: NameArgument) -> None:
    """Make a saved profile the default."""
    saved = _loaded()
    _save(saved.with_profile(saved.named(name), make_default=True))
    console.print(f"commands now talk to {name} unless told otherwise")


@profile.command("remove")
def remove(name: NameArgument) -> None:
    """Forget a profile (its key keeps working on the server: revoke it there)."""
    saved = _loaded()
    try:
        _save(saved.without(name))
    except ConfigError as exc:
        fail(exc.message, ExitCode.BAD_INPUT)
    console.print(f"removed profile {name}")


@profile.command("bootstrap")
def bootstrap(
    name: Annotated[str, typer.Argument(help="The profile's name.")] = LOCAL,
    config: ConfigOption = None,
    init: InitOption = False,
) -> None:
    """Make an instance-wide admin key on this machine's instance (local: it opens the
    database) and save it as a profile for its server, the default one."""
    from pushgate.cli.runtime import OPERATOR
    from pushgate.core.inputs import KeyInput
    from pushgate.core.models import Scope

    body = KeyInput(name=f"cli profile {name}", scopes=[Scope.ADMIN], instance_wide=True)

    async def work(services: Services) -> tuple[Settings, str]:
        made = await services.access.create_key(OPERATOR, body)
        return services.settings, made.plaintext

    settings, plaintext = run_with_services(config, work, init=init)
    where = save_local_profile(settings, plaintext, name)
    console.print(f"saved profile {name} for {local_url(settings)} in {where}", soft_wrap=True)


def local_url(settings: Settings) -> str:
    """Where a client on this machine reaches the server (a wildcard bind is loopback)."""
    host = settings.host if settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
    return f"http://{host}:{settings.port}"


def save_local_profile(settings: Settings, key: str, name: str = LOCAL) -> str:
    """Save this instance's server as a profile; the default unless another one is."""
    saved = load_profiles()
    make_default = saved.default in (None, name)
    save_profiles(
        saved.with_profile(Profile(name, local_url(settings), key), make_default=make_default)
    )
    return str(saved.path)
