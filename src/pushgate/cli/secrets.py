"""``pushgate secrets``: a new instance key, and re-sealing every stored secret under it."""

from __future__ import annotations

import secrets as random_bytes
from typing import TYPE_CHECKING

import typer

from pushgate.cli.runtime import (
    OPERATOR,
    ConfigOption,
    console,
    err_console,
    run_with_services,
    settings_or_exit,
)
from pushgate.config import (
    SecretKeys,
    encode_secret_key,
    key_file_path,
    key_file_text,
    read_key_file,
)
from pushgate.core.audit import AuditAction
from pushgate.storage.files import write_private

if TYPE_CHECKING:
    from pushgate.core.secret_rotation import RotationReport
    from pushgate.wiring import Services

secrets = typer.Typer(
    help="The instance key that seals provider secrets: make a new one, re-seal under it.",
    no_args_is_help=True,
)

NEXT_STEP = (
    "Restart every pushgate process (server, workers) so each holds the new key, then run "
    "`pushgate secrets rotate`."
)


@secrets.command("new-key")
def new_key(config: ConfigOption = None) -> None:
    """Make a new instance key; the old one stays, opening what it sealed, until rotate."""
    settings = settings_or_exit(config)
    fresh = random_bytes.token_bytes(32)
    if settings.secret_key is not None:
        # The key comes from the environment or the config file: that is where it must
        # change, so the new key is printed with the settings to give every process.
        console.print("The secret key is set in the settings. Give every process:", soft_wrap=True)
        console.print(f"  PUSHGATE_SECRET_KEY={encode_secret_key(fresh)}", soft_wrap=True)
        console.print(
            "  PUSHGATE_PREVIOUS_SECRET_KEYS=<the current PUSHGATE_SECRET_KEY>", soft_wrap=True
        )
        console.print(NEXT_STEP, soft_wrap=True)
        return
    path = key_file_path(settings)
    if not path.exists():
        err_console.print(
            f"[red]error:[/red] {path} does not exist: nothing to rotate yet", soft_wrap=True
        )
        raise typer.Exit(2)
    held = read_key_file(path)
    write_private(path, key_file_text(SecretKeys(fresh, (held.current, *held.previous), path)))
    console.print(
        f"{path}: a new key, with {1 + len(held.previous)} older key(s) kept after it.",
        soft_wrap=True,
    )
    console.print(NEXT_STEP, soft_wrap=True)


@secrets.command("rotate")
def rotate(
    forget_old: bool = typer.Option(
        False,
        "--forget-old",
        help="After a pass that leaves nothing sealed by an older key, drop the older keys "
        "from the key file (only where the key lives in the data folder).",
    ),
    config: ConfigOption = None,
) -> None:
    """Re-seal every stored secret under the current key and rewrite its fingerprints."""
    from pushgate.core.secret_rotation import reseal_all

    async def work(services: Services) -> tuple[RotationReport, RotationReport | None]:
        first = await reseal_all(services.accounts, services.box)
        await services.audit.record(
            OPERATOR,
            AuditAction.SECRETS_ROTATE,
            first.key_id,
            None,
            resealed=first.resealed,
            current=first.current,
            unreadable=len(first.unreadable),
        )
        # Before older keys are dropped, a second pass must find everything under the
        # current key: a process not restarted since `new-key` still seals with the old one.
        check = await reseal_all(services.accounts, services.box) if forget_old else None
        return first, check

    report, check = run_with_services(config, work)
    console.print(
        f"{report.total} sealed value(s): {report.resealed} re-sealed under key "
        f"{report.key_id}, {report.current} already under it, {report.changed_meanwhile} "
        "changed meanwhile (written under it by their writer).",
        soft_wrap=True,
    )
    if report.unreadable:
        for item in report.unreadable:
            err_console.print(
                f"[red]unreadable:[/red] app {item.app_id} {item.owner}: no key of this "
                "instance opens it (set that key as a previous key, or set the credential again)",
                soft_wrap=True,
            )
        raise typer.Exit(1)
    if check is not None:
        if check.resealed or check.changed_meanwhile or check.unreadable:
            err_console.print(
                "[red]error:[/red] values sealed by an older key appeared during the pass: a "
                "process still seals with it. Restart it, then run this again.",
                soft_wrap=True,
            )
            raise typer.Exit(1)
        _forget_older_keys(config)


def _forget_older_keys(config: ConfigOption) -> None:
    settings = settings_or_exit(config)
    if settings.secret_key is not None:
        console.print(
            "Remove PUSHGATE_PREVIOUS_SECRET_KEYS from every process's settings.", soft_wrap=True
        )
        return
    path = key_file_path(settings)
    held = read_key_file(path)
    write_private(path, key_file_text(SecretKeys(held.current, (), path)))
    console.print(f"{path}: {len(held.previous)} older key(s) dropped.", soft_wrap=True)
