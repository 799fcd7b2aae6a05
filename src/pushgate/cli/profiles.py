"""Named servers the command line talks to, kept in the user's config directory.

``$XDG_CONFIG_HOME/pushgate/profiles.toml`` (``~/.config/pushgate/profiles.toml`` when the
variable is unset, per the XDG Base Directory specification,
https://specifications.freedesktop.org/basedir-spec/latest/). The file holds API keys, so
it is written readable by its owner only (0600, in a 0700 folder)::

    default = "local"

    [profiles.local]
    url = "http://127.0.0.1:8000"
    key = "pgk_..."
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pushgate.errors import ConfigError

FILE_NAME = "profiles.toml"


@dataclass(frozen=True, slots=True)
class Profile:
    """One server: its base URL and the API key the command line uses on it."""

    name: str
    url: str
    key: str


@dataclass(frozen=True, slots=True)
class Profiles:
    """Every saved profile and the one used when a command names none."""

    path: Path
    items: dict[str, Profile]
    default: str | None

    def named(self, name: str) -> Profile:
        if name not in self.items:
            known = ", ".join(sorted(self.items)) or "none saved"
            raise ConfigError(f"no profile {name!r} in {self.path} ({known})")
        return self.items[name]

    def with_profile(self, profile: Profile, *, make_default: bool) -> Profiles:
        items = {**self.items, profile.name: profile}
        default = profile.name if make_default or self.default is None else self.default
        return Profiles(self.path, items, default)

    def without(self, name: str) -> Profiles:
        self.named(name)
        items = {k: v for k, v in self.items.items() if k != name}
        return Profiles(self.path, items, None if self.default == name else self.default)


def profiles_path(env: dict[str, str] | None = None) -> Path:
    environ = os.environ if env is None else env
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pushgate" / FILE_NAME


def load_profiles(path: Path | None = None) -> Profiles:
    """The saved profiles; none when the file does not exist yet."""
    path = path or profiles_path()
    if not path.exists():
        return Profiles(path, {}, None)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    items: dict[str, Profile] = {}
    for name, entry in dict(raw.get("profiles", {})).items():
        url, key = entry.get("url"), entry.get("key")
        if not isinstance(url, str) or not isinstance(key, str):
            raise ConfigError(f"{path}: profile {name!r} needs a url and a key")
        items[name] = Profile(name, url, key)
    default = raw.get("default")
    return Profiles(path, items, default if isinstance(default, str) else None)


def save_profiles(profiles: Profiles) -> None:
    """Write the file whole, private to its owner from the moment it exists."""
    lines = [f"default = {_quoted(profiles.default)}", ""] if profiles.default else []
    for profile in profiles.items.values():
        lines += [
            f"[profiles.{_quoted(profile.name)}]",
            f"url = {_quoted(profile.url)}",
            f"key = {_quoted(profile.key)}",
            "",
        ]
    folder = profiles.path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = folder / f".{FILE_NAME}.{os.getpid()}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    os.replace(temporary, profiles.path)


def _quoted(text: str) -> str:
    # A JSON string is a TOML basic string: the same quotes and backslash escapes.
    return json.dumps(text)
