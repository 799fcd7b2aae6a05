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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from pushgate.core.identity import MAX_INSTANCE_NAME_CHARS
from pushgate.errors import ConfigError
from pushgate.storage.files import FILE_MODE, private_folder

ENV_PREFIX = "PUSHGATE_"
CONFIG_FILE_ENV = "PUSHGATE_CONFIG"
# The command line's own variables (which server it talks to), not server settings.
CLIENT_ENV = frozenset({"PUSHGATE_URL", "PUSHGATE_API_KEY", "PUSHGATE_PROFILE"})
KEY_FILE_NAME = "secret.key"

log = logging.getLogger(__name__)


class Settings(BaseModel):
    """Everything configurable about one pushgate process."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path = Field(
        default=Path("./var"),
        description="Data folder: the SQLite database and the generated secret key file.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; defaults to SQLite in data_dir.",
        examples=[
            "sqlite+aiosqlite:///var/pushgate.db",
            "postgresql+asyncpg://pushgate:password@127.0.0.1:5432/pushgate",
        ],
    )
    sqlite_busy_seconds: float = Field(
        default=10.0,
        ge=0,
        le=600,
        description="How long SQLite work waits for the write lock while another process "
        "(a CLI command) holds it, before failing with 503 `unavailable`; the server keeps "
        "answering meanwhile.",
    )
    bind: str = Field(
        default="127.0.0.1:8080",
        description="Address and port the API listens on (`pushgate worker` binds its "
        "metrics port on the same address).",
        examples=["127.0.0.1:8080", "0.0.0.0:8080"],
    )
    instance_name: str | None = Field(
        default=None,
        description="Public base URL; defaults to http://<bind>. Every push carries it "
        f"(docs/actions.md), so it is at most {MAX_INSTANCE_NAME_CHARS} characters.",
        examples=["https://push.example.com"],
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="base64url of 32 random bytes; encrypts provider secrets at rest. When "
        "unset, one is generated into <data_dir>/secret.key (back it up).",
    )
    previous_secret_keys: tuple[SecretStr, ...] = Field(
        default=(),
        description="Older secret keys, comma-separated: they still open what they sealed "
        "until `pushgate secrets rotate` has re-sealed it under `secret_key`.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Least severe log messages written."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`text`: one readable line per record; `json`: one JSON object per "
        'line, with the record\'s fields as members (docs/operations.md, "Logs").',
    )
    metrics_require_key: bool = Field(
        default=False,
        description="`/metrics` answers only requests with an admin-scoped API key; "
        "per-tenant series are shown to instance admin keys alone either way.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Largest request body accepted; 413 above it.",
    )
    max_bodies_in_flight_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        le=4 * 1024 * 1024 * 1024,
        description="Bytes of request bodies all requests together may hold at once; a "
        "request past it is answered 503 with Retry-After before its body is read.",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Time a connection has to send a request's headers (from its first byte, "
        "or from the connection or the previous answer); closed after it.",
    )
    body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Time a request has to send its whole body once its headers are in; "
        "408 and closed after it.",
    )
    keep_alive_seconds: int = Field(
        default=5,
        ge=1,
        le=3600,
        description="How long an idle keep-alive connection is kept open between requests.",
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        description="Open client connections at once; one past it is answered 503 and closed.",
    )
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Largest request line and headers together; 431 and closed above it.",
    )
    queue_url: str = Field(
        default="sql",
        description="`sql` (jobs in the database) or a redis:// URL (Redis Streams).",
        examples=["sql", "redis://127.0.0.1:6379/0"],
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
    audit_retention_days: int = Field(
        default=365, ge=1, le=3650, description="Audit log events are kept this long."
    )
    delivery_records: Literal["all", "failures"] = Field(
        default="all",
        description="What a notification keeps of its deliveries unless it says: `all` (a "
        "row each) or `failures` (counts, and a row only for deliveries that did not go out).",
    )
    default_ttl_seconds: int = Field(
        default=86_400,
        ge=0,
        le=2_419_200,
        description="Time to live of a notification that gives none.",
    )
    max_ttl_seconds: int = Field(
        default=2_419_200,
        ge=0,
        le=2_419_200,
        description="Longest time to live a notification may ask for; 28 days is FCM's own limit.",
    )
    max_schedule_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="How far `send_at` may lie from now, ahead or behind; every time derived "
        "from it (expiry, retries) stays in range of every listing.",
    )
    provider_ca_file: tuple[Path, ...] = Field(
        default=(),
        description="CA files trusted for provider connections beside the system store (the "
        "simulators' CA); several are separated by `:` (`;` on Windows) or given as a list.",
    )
    worker_concurrency: int = Field(
        default=4, ge=1, le=256, description="Jobs one worker runs at once."
    )
    paused_recheck_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="The longest wait between probes of paused credentials (waits double "
        "from 1 s up to this).",
    )
    relay_sync_seconds: float = Field(
        default=20.0,
        ge=0,
        le=55,
        description="How long a relay's POST /v1/relay/{app}/messages waits for the "
        "providers before it answers 202 and the origin polls (docs/relay.md).",
    )
    send_batch_size: int = Field(
        default=500,
        ge=1,
        le=5000,
        description="Deliveries per send job (one app, one provider).",
    )
    worker_lease_seconds: float = Field(
        default=60.0,
        ge=1.0,
        le=3600.0,
        description="How long a worker holds a job before another may take it; after a "
        "crash, the jobs in hand are sent again once this has passed.",
    )
    action_answer_wait_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="How long the answer to a device's response to an action waits for its "
        "handler: 200 with the result when it finished by then, else 202.",
    )
    user_token_max_seconds: int = Field(
        default=24 * 3600,
        ge=60,
        le=30 * 24 * 3600,
        description="Longest lifetime a user token (Pushgate-User-Token) may have, from its "
        "`iat` and from now; one without `exp` or living longer is refused with 401.",
    )
    response_token_grace_days: int = Field(
        default=7,
        ge=0,
        le=365,
        description="How long after a notification expires a device may still answer its "
        "actions: the response token in each push expires this many days after it.",
    )
    allow_private_targets: bool = Field(
        default=False,
        description="Allow outbound connections to loopback/private addresses: webhook, WNS "
        "and Web Push targets, and provider base/token URL overrides (which only instance "
        "admin keys may set), also over plain http (local simulators, tests); off in "
        "production to prevent SSRF.",
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
        if value is not None and len(value.rstrip("/")) > MAX_INSTANCE_NAME_CHARS:
            raise ValueError(f"longer than {MAX_INSTANCE_NAME_CHARS} characters")
        return value.rstrip("/") if value else value

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_secret_key(value.get_secret_value())
        return value

    @field_validator("previous_secret_keys", mode="before")
    @classmethod
    def _split_previous_keys(cls, value: object) -> object:
        # The environment form is one string, comma-separated; TOML gives a list.
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("previous_secret_keys")
    @classmethod
    def _check_previous_keys(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for item in value:
            decode_secret_key(item.get_secret_value())
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
        if not name.startswith(ENV_PREFIX) or name == CONFIG_FILE_ENV or name in CLIENT_ENV:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key not in known:
            raise ConfigError(f"unknown setting {name}", details={"key": name, "source": "env"})
        values[key] = raw
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise _format_error(exc, "env") from exc


@dataclass(frozen=True, slots=True)
class SecretKeys:
    """The instance key that seals, and older keys that still open what they sealed."""

    current: bytes = field(repr=False)
    previous: tuple[bytes, ...] = field(default=(), repr=False)
    #: The key file these came from, or None when they came from the settings.
    path: Path | None = None

    def __repr__(self) -> str:
        return f"SecretKeys(previous={len(self.previous)}, path={self.path})"


def key_file_path(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE_NAME


def read_key_file(path: Path) -> SecretKeys:
    """The key file: the current key on its first line, older keys on the lines after
    (``pushgate secrets new-key`` writes it so); ``#`` starts a comment line."""
    try:
        lines = [
            line.strip()
            for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        if not lines:
            raise ValueError("the file holds no key")
        keys = [decode_secret_key(line) for line in lines]
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}", details={"key": "secret_key"}) from exc
    return SecretKeys(keys[0], tuple(keys[1:]), path)


def key_file_text(keys: SecretKeys) -> str:
    """The key file's content for ``keys`` (the inverse of ``read_key_file``)."""
    lines = [encode_secret_key(keys.current)]
    if keys.previous:
        lines.append("# older keys: they open what they sealed until `pushgate secrets rotate`")
        lines.extend(encode_secret_key(key) for key in keys.previous)
    return "\n".join(lines) + "\n"


def load_or_create_secret_keys(settings: Settings) -> SecretKeys:
    """The keys that seal and open provider secrets: from settings, else from the data folder.

    When neither has one, a new key is written to ``<data_dir>/secret.key`` (mode 0600, in a
    0700 folder) with a warning: losing that file makes every stored provider secret
    unreadable.
    """
    if settings.secret_key is not None:
        return SecretKeys(
            decode_secret_key(settings.secret_key.get_secret_value()),
            tuple(decode_secret_key(k.get_secret_value()) for k in settings.previous_secret_keys),
        )
    path = key_file_path(settings)
    if path.exists():
        return read_key_file(path)
    private_folder(settings.data_dir)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(encode_secret_key(key) + "\n")
    log.warning(
        "no PUSHGATE_SECRET_KEY given: generated %s; back it up, provider secrets "
        "cannot be decrypted without it",
        path,
    )
    return SecretKeys(key, (), path)


def encode_secret_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")
