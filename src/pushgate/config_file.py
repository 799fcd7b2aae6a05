"""The commented settings file ``pushgate init`` writes, generated from :class:`Settings`.

Every field of the settings model is written with its description, its environment variable,
the values it accepts and its default, so the file is the settings reference an operator has
at hand. A setting at its default is written commented out, so the file keeps following the
defaults of later versions; one given another value (in the environment ``pushgate init`` ran
in) is written as a live line. Reading the file back gives the settings it was written from
(:func:`render_settings` and :func:`pushgate.config.load_settings` are inverses).

TOML: https://toml.io/en/v1.0.0
"""

from __future__ import annotations

import math
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, Union, get_args, get_origin

import annotated_types
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from pushgate import __version__
from pushgate.config import CONFIG_FILE_ENV, ENV_PREFIX, Settings
from pushgate.errors import ConfigError
from pushgate.storage.files import write_private

DEFAULT_CONFIG_FILE = Path("pushgate.toml")
WIDTH = 96


def render_settings(settings: Settings) -> str:
    """The TOML text of ``settings``: every field, commented, live where not the default."""
    lines = [
        f"# pushgate {__version__} settings, written by `pushgate init`.",
        "#",
        *_wrapped(
            f"pushgate reads this file when started with `--config PATH` or {CONFIG_FILE_ENV}"
            f"=PATH. An environment variable {ENV_PREFIX}<NAME> overrides the setting of that "
            "name here. A line starting with `#` leaves its setting at the default: remove "
            "the `#` and change the value to set it. The file may hold secrets; it is "
            "written readable by its owner alone (mode 0600)."
        ),
    ]
    for name, info in Settings.model_fields.items():
        lines.append("")
        lines.extend(_setting_lines(name, info, getattr(settings, name)))
    return "\n".join(lines) + "\n"


def write_settings_file(path: Path, text: str, *, replace: bool) -> None:
    """Write ``text`` to ``path`` (mode 0600); an existing file only when ``replace``."""
    if path.exists() and not replace:
        raise ConfigError(
            f"{path} exists; --force replaces it", details={"key": "config", "path": str(path)}
        )
    write_private(path, text)


def _setting_lines(name: str, info: FieldInfo, value: object) -> Iterator[str]:
    yield f"# {name}  ({ENV_PREFIX}{name.upper()})"
    if info.description:
        yield from _wrapped(info.description, indent="  ")
    yield from _wrapped(f"allowed: {allowed_values(info)}", indent="  ")
    default = toml_value(info.default)
    yield f"#   default: {default if default is not None else 'not set'}"
    for example in info.examples or ():
        yield f"#   example: {toml_value(example)}"
    shown = toml_value(value)
    if shown is not None and value != info.default:
        yield f"{name} = {shown}"
    elif shown is not None:
        yield f"# {name} = {shown}"
    elif info.examples:
        # Unset (TOML has no null): the first example, commented, is there to be edited.
        yield f"# {name} = {toml_value(info.examples[0])}"


def _wrapped(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=f"# {indent}",
        subsequent_indent=f"# {indent}",
        break_on_hyphens=False,
    )


def allowed_values(info: FieldInfo) -> str:
    """What a setting accepts, from its type and constraints (``ge``, ``pattern``, …)."""
    kinds: tuple[object, ...] = (info.annotation,)
    if get_origin(info.annotation) in (Union, types.UnionType):
        kinds = get_args(info.annotation)
    named = " or ".join(_kind_text(kind) for kind in kinds if kind is not type(None))
    text = named + "".join(_constraint_text(item) for item in info.metadata)
    return f"{text}, or not set" if type(None) in kinds else text


def _kind_text(kind: object) -> str:
    origin = get_origin(kind)
    if origin is Literal:
        return "one of " + ", ".join(str(toml_value(arg)) for arg in get_args(kind))
    if origin is tuple:
        return f"a list of {_plural(_kind_text(get_args(kind)[0]))}"
    names = {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "a string",
        Path: "a path",
        SecretStr: "a secret string",
    }
    if isinstance(kind, type) and kind in names:
        return names[kind]
    raise TypeError(f"no description of the values of {kind!r}")


def _plural(text: str) -> str:
    return text.removeprefix("a ") + "s"


def _constraint_text(item: object) -> str:
    match item:
        case annotated_types.Ge(ge=bound):
            return f", at least {bound}"
        case annotated_types.Gt(gt=bound):
            return f", more than {bound}"
        case annotated_types.Le(le=bound):
            return f", at most {bound}"
        case annotated_types.Lt(lt=bound):
            return f", less than {bound}"
    pattern = getattr(item, "pattern", None)
    return f", matching {pattern}" if isinstance(pattern, str) else ""


def toml_value(value: object) -> str | None:
    """``value`` as a TOML value; None for None (TOML has no null: the line is left out)."""
    match value:
        case None:
            return None
        case bool():
            return "true" if value else "false"
        case int():
            return str(value)
        case float():
            return _toml_float(value)
        case SecretStr():
            return _toml_string(value.get_secret_value())
        case str() | Path():
            return _toml_string(str(value))
        case tuple() | list():
            return "[" + ", ".join(str(toml_value(item)) for item in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _toml_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)  # always has a "." or an exponent, as TOML floats need


def _toml_string(text: str) -> str:
    # A TOML basic string: quote, backslash and control characters escaped (toml.io, "String").
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'
