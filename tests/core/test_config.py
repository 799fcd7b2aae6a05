"""Settings: sources, validation, and the secret key file."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from pushgate.config import (
    SecretKeys,
    Settings,
    key_file_text,
    load_or_create_secret_keys,
    load_settings,
    read_key_file,
)
from pushgate.errors import ConfigError


def test_defaults_are_the_embedded_setup() -> None:
    settings = load_settings(env={})
    assert settings.bind == "127.0.0.1:8080"
    assert settings.effective_database_url == "sqlite+aiosqlite:///var/pushgate.db"
    assert settings.effective_instance_name == "http://127.0.0.1:8080"


def test_response_token_grace_and_instance_name_bound() -> None:
    assert load_settings(env={}).response_token_grace_days == 7
    env = {"PUSHGATE_RESPONSE_TOKEN_GRACE_DAYS": "2"}
    assert load_settings(env=env).response_token_grace_days == 2
    # Every push carries the instance name, and accept-time checks count at most 100.
    fits = "https://" + "p" * 92
    assert load_settings(env={"PUSHGATE_INSTANCE_NAME": fits}).instance_name == fits
    with pytest.raises(ConfigError, match="PUSHGATE_INSTANCE_NAME"):
        load_settings(env={"PUSHGATE_INSTANCE_NAME": fits + "p"})


def test_environment_overrides_file(tmp_path: Path) -> None:
    config = tmp_path / "pushgate.toml"
    config.write_text('bind = "127.0.0.1:9000"\nlog_level = "debug"\n')
    settings = load_settings(env={"PUSHGATE_CONFIG": str(config), "PUSHGATE_LOG_LEVEL": "warning"})
    assert (settings.port, settings.log_level) == (9000, "warning")


def test_unknown_environment_key_is_named() -> None:
    with pytest.raises(ConfigError, match="PUSHGATE_DATABSE_URL"):
        load_settings(env={"PUSHGATE_DATABSE_URL": "x"})


def test_unknown_file_key_is_named(tmp_path: Path) -> None:
    config = tmp_path / "pushgate.toml"
    config.write_text('bnd = "127.0.0.1:9000"\n')
    with pytest.raises(ConfigError, match="bnd"):
        load_settings(env={}, config_file=config)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PUSHGATE_BIND", "nonsense"),
        ("PUSHGATE_BIND", "127.0.0.1:99999"),
        ("PUSHGATE_DATABASE_URL", "mysql://x"),
        ("PUSHGATE_INSTANCE_NAME", "example.com"),
        ("PUSHGATE_SECRET_KEY", "c2hvcnQ"),
        ("PUSHGATE_LOG_LEVEL", "loud"),
        ("PUSHGATE_MAX_BODY_BYTES", "ten"),
    ],
)
def test_malformed_values_fail_with_the_key(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={name: value})
    assert caught.value.details["key"] == name


def test_secret_key_is_hidden_in_repr() -> None:
    key = base64.urlsafe_b64encode(b"k" * 32).decode()
    settings = load_settings(env={"PUSHGATE_SECRET_KEY": key})
    assert key not in repr(settings)
    assert key not in str(settings.model_dump())


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.bind = "0.0.0.0:1"  # type: ignore[misc]


def test_secret_key_file_is_made_once_and_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    first = load_or_create_secret_keys(settings)
    second = load_or_create_secret_keys(settings)
    assert first.current == second.current
    assert len(first.current) == 32
    assert first.previous == ()
    assert stat.S_IMODE((data / "secret.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_broken_secret_key_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("too-short\n")
    with pytest.raises(ConfigError, match=r"secret\.key"):
        load_or_create_secret_keys(Settings(data_dir=tmp_path))


def test_the_key_file_keeps_older_keys_after_the_current_one(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    keys = SecretKeys(b"n" * 32, (b"o" * 32, b"p" * 32), path)
    path.write_text(key_file_text(keys))
    assert read_key_file(path) == keys
    loaded = load_or_create_secret_keys(Settings(data_dir=tmp_path))
    assert (loaded.current, loaded.previous) == (b"n" * 32, (b"o" * 32, b"p" * 32))
    assert "nnnn" not in repr(loaded)


def test_previous_keys_come_comma_separated_from_the_environment() -> None:
    current, old, older = (base64.urlsafe_b64encode(c * 32).decode() for c in (b"c", b"o", b"p"))
    settings = load_settings(
        env={"PUSHGATE_SECRET_KEY": current, "PUSHGATE_PREVIOUS_SECRET_KEYS": f"{old}, {older}"}
    )
    keys = load_or_create_secret_keys(settings)
    assert (keys.current, keys.previous, keys.path) == (b"c" * 32, (b"o" * 32, b"p" * 32), None)
    assert old not in repr(settings)
    with pytest.raises(ConfigError, match="PREVIOUS_SECRET_KEYS"):
        load_settings(env={"PUSHGATE_SECRET_KEY": current, "PUSHGATE_PREVIOUS_SECRET_KEYS": "x"})


def test_provider_ca_files_are_one_path_or_several(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pem", tmp_path / "b.pem"
    first.write_text("")
    second.write_text("")
    assert load_settings(env={}).provider_ca_file == ()
    one = load_settings(env={"PUSHGATE_PROVIDER_CA_FILE": str(first)})
    assert one.provider_ca_file == (first,)
    joined = f"{first}{os.pathsep}{second}"
    assert load_settings(env={"PUSHGATE_PROVIDER_CA_FILE": joined}).provider_ca_file == (
        first,
        second,
    )
    config = tmp_path / "pushgate.toml"
    config.write_text(f"provider_ca_file = [{str(first)!r}, {str(second)!r}]\n")
    assert load_settings(env={}, config_file=config).provider_ca_file == (first, second)


def test_a_missing_provider_ca_file_is_named(tmp_path: Path) -> None:
    present = tmp_path / "a.pem"
    present.write_text("")
    value = f"{present}{os.pathsep}{tmp_path / 'missing.pem'}"
    with pytest.raises(ConfigError, match=r"missing\.pem") as caught:
        load_settings(env={"PUSHGATE_PROVIDER_CA_FILE": value})
    assert caught.value.details["key"] == "PUSHGATE_PROVIDER_CA_FILE"
