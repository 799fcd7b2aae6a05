"""Rotating the instance key and copying the database, as an operator does: the commands
run through the command line's own entry point (in this process, for speed; a separate
process changes nothing they do) on a real SQLite data folder."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pushgate.cli import app as command_line
from pushgate.cli.runtime import OPERATOR
from pushgate.config import Settings, read_key_file
from pushgate.core.audit import AuditAction, AuditEvent
from pushgate.core.credentials import decode_secret
from pushgate.core.inputs import AppInput, AppUpdate
from pushgate.core.models import Sealed
from pushgate.core.secretbox import SecretBox, SecretUnreadable
from pushgate.wiring import Services, build_services

HMS = {"app_id": "104123456", "client_secret": "hms-client-secret-value"}
USER_AUTH = "u" * 40


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def pushgate(data_dir: Path, *args: str, **env: str) -> Ran:
    """``pushgate ARGS`` with the data folder ``data_dir`` and no other PUSHGATE_* setting."""
    settings: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("PUSHGATE_")
    }
    settings.update({"PUSHGATE_DATA_DIR": str(data_dir), "COLUMNS": "250", **env})
    result = CliRunner().invoke(command_line, list(args), env=settings)
    return Ran(result.exit_code, result.stdout, result.stderr)


async def open_services(data_dir: Path) -> Services:
    return await build_services(Settings(data_dir=data_dir), run_migrations=True)


async def rotations(data_dir: Path) -> list[AuditEvent]:
    """The audit log's entries of ``secrets rotate`` (the command line's own audit
    listing asks a server; this test has none)."""
    services = await open_services(data_dir)
    try:
        return await services.audit.events(OPERATOR, None, AuditAction.SECRETS_ROTATE, None, 10)
    finally:
        await services.close()


async def an_app_with_secrets(data_dir: Path, name: str = "shop") -> None:
    services = await open_services(data_dir)
    try:
        tenant = await services.access.ensure_default_tenant()
        await services.registry.create_app(OPERATOR, tenant, AppInput(name=name))
        await services.registry.set_credentials(OPERATOR, tenant, name, "hms", dict(HMS))
        await services.registry.update_app(
            OPERATOR, tenant, name, AppUpdate(user_auth_secret=USER_AUTH)
        )
    finally:
        await services.close()


async def stored(data_dir: Path) -> tuple[list[Sealed], dict[str, str]]:
    """Every sealed value, and the hms credential's stored fingerprints."""
    services = await open_services(data_dir)
    try:
        sealed = await services.accounts.sealed_secrets()
        tenant = await services.access.ensure_default_tenant()
        app = await services.registry.app(tenant, "shop")
        [credential] = await services.accounts.list_credentials(app.id)
        return sealed, credential.fingerprints
    finally:
        await services.close()


async def apps_and_secrets(data_dir: Path) -> tuple[list[str], list[Sealed], SecretBox]:
    services = await open_services(data_dir)
    try:
        tenant = await services.access.ensure_default_tenant()
        names = [app.name for app in await services.registry.list_apps(OPERATOR, tenant)]
        return names, await services.accounts.sealed_secrets(), services.box
    finally:
        await services.close()


def opens_all(box: SecretBox, sealed: list[Sealed]) -> bool:
    try:
        for item in sealed:
            box.open(item.sealed, item.aad)
    except SecretUnreadable:
        return False
    return True


def test_a_new_key_then_rotate_reseals_every_secret(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(an_app_with_secrets(data))
    old = read_key_file(data / "secret.key").current
    sealed, fingerprints = asyncio.run(stored(data))
    assert len(sealed) == 2  # the hms credentials and the user-auth secret

    made = pushgate(data, "secrets", "new-key")
    assert made.returncode == 0, made.stderr
    keys = read_key_file(data / "secret.key")
    assert keys.previous == (old,)
    assert stat.S_IMODE((data / "secret.key").stat().st_mode) == 0o600
    # Until the rotation, the old key is still needed: the new key alone opens nothing.
    only_new = SecretBox(keys.current)
    assert not opens_all(only_new, asyncio.run(stored(data))[0])

    rotated = pushgate(data, "secrets", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "2 sealed value(s): 2 re-sealed" in rotated.stdout
    [event] = asyncio.run(rotations(data))
    assert (event.action, event.key_id, event.origin) == (AuditAction.SECRETS_ROTATE, "cli", "cli")
    assert event.details["resealed"] == 2
    after, new_fingerprints = asyncio.run(stored(data))
    assert opens_all(only_new, after)
    assert not opens_all(SecretBox(old), after)
    # The fingerprints are keyed with the new key now.
    assert new_fingerprints == {"client_secret": only_new.fingerprint(HMS["client_secret"])}
    assert new_fingerprints != fingerprints
    hms = next(item for item in after if item.owner == "hms")
    assert decode_secret(only_new.open(hms.sealed, hms.aad)) == {
        "client_secret": HMS["client_secret"]
    }

    # A second pass finds everything current; --forget-old then drops the old key.
    again = pushgate(data, "secrets", "rotate", "--forget-old")
    assert again.returncode == 0, again.stderr
    assert "0 re-sealed" in again.stdout
    assert read_key_file(data / "secret.key").previous == ()
    assert opens_all(SecretBox(read_key_file(data / "secret.key").current), after)


def test_rotation_with_the_key_in_the_settings(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(an_app_with_secrets(data))
    old_text = (data / "secret.key").read_text().strip()
    advice = pushgate(data, "secrets", "new-key", PUSHGATE_SECRET_KEY=old_text)
    assert advice.returncode == 0, advice.stderr
    new_text = advice.stdout.split("PUSHGATE_SECRET_KEY=", 1)[1].split()[0]
    assert new_text != old_text
    # The key file is left alone: the settings are where this instance's key lives.
    assert (data / "secret.key").read_text().strip() == old_text

    env = {"PUSHGATE_SECRET_KEY": new_text, "PUSHGATE_PREVIOUS_SECRET_KEYS": old_text}
    rotated = pushgate(data, "secrets", "rotate", **env)
    assert rotated.returncode == 0, rotated.stderr
    assert "2 re-sealed" in rotated.stdout
    missing_old = pushgate(data, "secrets", "rotate", PUSHGATE_SECRET_KEY=old_text)
    assert missing_old.returncode == 1
    assert "unreadable" in missing_old.stderr


def test_backup_and_restore_round_trip(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(an_app_with_secrets(data, "shop"))
    copy = tmp_path / "copies" / "pushgate-copy.db"

    made = pushgate(data, "backup", str(copy))
    assert made.returncode == 0, made.stderr
    assert "1 apps" in made.stdout
    assert "secret.key" in made.stdout  # the reminder that the key is kept apart
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert pushgate(data, "backup", str(copy)).returncode == 2  # never overwrites

    # Later changes are undone by restoring the copy.
    asyncio.run(an_app_with_secrets(data, "later"))
    restored = pushgate(data, "restore", str(copy), "--yes")
    assert restored.returncode == 0, restored.stderr
    names, sealed, box = asyncio.run(apps_and_secrets(data))
    assert names == ["shop"]
    assert opens_all(box, sealed)


@pytest.mark.parametrize("damage", ["not a database", "newer revision"])
def test_restore_refuses_what_is_not_a_copy_it_knows(tmp_path: Path, damage: str) -> None:
    data = tmp_path / "data"
    asyncio.run(an_app_with_secrets(data))
    copy = tmp_path / "copy.db"
    if damage == "not a database":
        copy.write_bytes(b"x" * 4096)
    else:
        assert pushgate(data, "backup", str(copy)).returncode == 0
        with sqlite3.connect(copy) as connection:
            connection.execute("UPDATE alembic_version SET version_num = 'from_the_future'")
        connection.close()
    before = (data / "pushgate.db").read_bytes()
    refused = pushgate(data, "restore", str(copy), "--yes")
    assert refused.returncode == 2
    assert str(copy) in refused.stderr
    assert (data / "pushgate.db").read_bytes() == before


def test_backup_of_postgresql_names_pg_dump(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    told = pushgate(tmp_path, "backup", str(tmp_path / "x.dump"), PUSHGATE_DATABASE_URL=url)
    assert told.returncode == 2
    assert "pg_dump --format=custom" in told.stderr
    assert "postgresql://postgres@127.0.0.1:5432/test" in told.stderr
    assert not (tmp_path / "x.dump").exists()


def test_the_data_folder_and_database_are_private(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        asyncio.run(an_app_with_secrets(tmp_path / "data"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data" / "pushgate.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "data" / "secret.key").stat().st_mode) == 0o600


async def _a_secret_setting(data_dir: Path, value: str | None = None) -> str | None:
    """Set the default tenant's ``webhook.authorization`` (when ``value`` is given); the
    value as opened with the instance's key."""
    services = await open_services(data_dir)
    try:
        tenant = await services.access.ensure_default_tenant()
        if value is not None:
            await services.scoped_settings.change(
                OPERATOR, tenant, None, "webhook.authorization", value
            )
        [item] = await services.scopes.scope_settings(tenant.id, "global")
        opened = services.scoped_settings.opened(tenant.id, item)
        return str(opened)
    finally:
        await services.close()


def test_rotation_reseals_secret_settings(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert asyncio.run(_a_secret_setting(data, "Bearer token-1")) == "Bearer token-1"
    assert pushgate(data, "secrets", "new-key").returncode == 0
    rotated = pushgate(data, "secrets", "rotate", "--forget-old")
    assert rotated.returncode == 0, rotated.stderr
    assert "1 re-sealed" in rotated.stdout
    # Only the new key is left, and it opens the setting.
    assert read_key_file(data / "secret.key").previous == ()
    assert asyncio.run(_a_secret_setting(data)) == "Bearer token-1"
