"""Settings: one frozen, typed object built once at start.

Sources, later wins: defaults, an optional TOML file (``PUSHGATE_CONFIG`` or ``--config``),
then ``PUSHGATE_*`` environment variables. An unknown key or a malformed value fails at
start with the key named, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from pushgate.errors import ConfigError

ENV_PREFIX = "PUSHGATE_"
CONFIG_FILE_ENV = "PUSHGATE_CONFIG"
KEY_FILE_NAME = "secret.key"

log = logging.getLogger(__name__)


class Settings(BaseModel):
    """Everything configurable about one pushgate process."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Path("./var")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; defaults to SQLite in data_dir.",
    )
    sqlite_busy_seconds: float = Field(
        default=10.0,
        ge=0,
        le=600,
        description="How long SQLite work waits for the write lock while another process "
        "(a CLI command) holds it, before failing with 503 `unavailable`; the server keeps "
        "answering meanwhile.",
    )
    bind: str = "127.0.0.1:8080"
    instance_name: str | None = Field(
        default=None, description="Public base URL; defaults to http://<bind>."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="base64url of 32 random bytes; encrypts provider secrets at rest.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    queue_url: str = Field(
        default="sql",
        description="`sql` (jobs in the database) or a redis:// URL (Redis Streams).",
    )
    queue_prefix: str = Field(
        default="pushgate",
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="Key prefix in Redis, so several instances can share one server.",
    )
    queue_reconcile_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="With a Redis queue: how often jobs the database holds are checked "
        "against Redis, and those it lost (a restart without persistence) queued again.",
    )
    retention_days: int = Field(
        default=30, ge=1, le=3650, description="Undelivered notifications are kept this long."
    )
    delivery_records: Literal["all", "failures"] = Field(
        default="all",
        description="What a notification keeps of its deliveries unless it says: `all` (a "
        "row each) or `failures` (counts, and a row only for deliveries that did not go out).",
    )
    default_ttl_seconds: int = Field(default=86_400, ge=0, le=2_419_200)
    max_ttl_seconds: int = Field(default=2_419_200, ge=0, le=2_419_200)
    provider_ca_file: tuple[Path, ...] = Field(
        default=(),
        description="CA files trusted for provider connections beside the system store (the "
        "simulators' CA); several are separated by `:` (`;` on Windows) or given as a list.",
    )
    worker_concurrency: int = Field(default=4, ge=1, le=256)
    paused_recheck_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How often deliveries held by paused credentials look for a fix.",
    )
    send_batch_size: int = Field(default=500, ge=1, le=5000)
    worker_lease_seconds: float = Field(
        default=60.0,
        ge=1.0,
        le=3600.0,
        description="How long a worker holds a job before another may take it; after a "
        "crash, the jobs in hand are sent again once this has passed.",
    )
    allow_private_targets: bool = Field(
        default=False,
        description="Allow webhook, WNS and Web Push targets on loopback/private addresses "
        "(local simulators, tests); off in production to prevent SSRF.",
    )

    @field_validator("bind")
    @classmethod
    def _check_bind(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("expected host:port, for example 127.0.0.1:8080")
        return value

    @field_validator("provider_ca_file", mode="before")
    @classmethod
    def _split_ca_files(cls, value: object) -> object:
        # One path, or several joined like PATH (the environment form), or a list (TOML).
        if isinstance(value, (str, os.PathLike)):
            return tuple(part for part in os.fspath(value).split(os.pathsep) if part)
        return value

    @field_validator("provider_ca_file")
    @classmethod
    def _check_ca_files(cls, value: tuple[Path, ...]) -> tuple[Path, ...]:
        for path in value:
            if not path.is_file():
                raise ValueError(f"CA file {path} does not exist")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("expected sqlite+aiosqlite://… or postgresql+asyncpg://…")
        return value

    @field_validator("queue_url")
    @classmethod
    def _check_queue_url(cls, value: str) -> str:
        if value != "sql" and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected sql or a redis:// URL")
        return value

    @field_validator("instance_name")
    @classmethod
    def _check_instance_name(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected a base URL starting with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_secret_key(value.get_secret_value())
        return value

    @property
    def host(self) -> str:
        return self.bind.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.bind.rpartition(":")[2])

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'pushgate.db').as_posix()}"

    @property
    def effective_instance_name(self) -> str:
        return self.instance_name or f"http://{self.bind}"


def decode_secret_key(text: str) -> bytes:
    """Decode a base64url secret key; it must hold exactly 32 bytes (AES-256)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise ValueError("secret_key is not base64url") from exc
    if len(raw) != 32:
        raise ValueError("secret_key must decode to 32 bytes")
    return raw


def _format_error(exc: ValidationError, source: str) -> ConfigError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "?"
    shown = ENV_PREFIX + key.upper() if source == "env" else key
    return ConfigError(
        f"setting {shown} ({source}): {first['msg']}",
        details={"key": shown, "source": source},
    )


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist", details={"key": "config"}) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def load_settings(
    env: Mapping[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    """Build the settings from a TOML file and ``PUSHGATE_*`` variables."""
    env = os.environ if env is None else env
    known = set(Settings.model_fields)
    file_path = config_file or (Path(env[CONFIG_FILE_ENV]) if env.get(CONFIG_FILE_ENV) else None)
    values: dict[str, Any] = {}
    if file_path is not None:
        values = _read_file(file_path)
        try:
            Settings(**values)
        except ValidationError as exc:
            raise _format_error(exc, str(file_path)) from exc
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_FILE_ENV:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key not in known:
            raise ConfigError(f"unknown setting {name}", details={"key": name, "source": "env"})
        values[key] = raw
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise _format_error(exc, "env") from exc


def load_or_create_secret_key(settings: Settings) -> bytes:
    """The key that encrypts provider secrets: from settings, else from the data folder.

    When neither has one, a new key is written to ``<data_dir>/secret.key`` (mode 0600)
    with a warning: losing that file makes every stored provider secret unreadable.
    """
    if settings.secret_key is not None:
        return decode_secret_key(settings.secret_key.get_secret_value())
    path = settings.data_dir / KEY_FILE_NAME
    if path.exists():
        try:
            return decode_secret_key(path.read_text().strip())
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}", details={"key": "secret_key"}) from exc
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    text = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    log.warning(
        "no PUSHGATE_SECRET_KEY given: generated %s; back it up, provider secrets "
        "cannot be decrypted without it",
        path,
    )
    return decode_secret_key(text)
