"""Notification templates: Jinja2 sources compiled once, rendered in a sandbox (docs/types.md).

A template has the shape of a notification's content: ``title``, ``subtitle``, ``body``,
``data`` and per-provider ``overrides`` (their string values are templates, at any depth)
and ``locales`` (``{"de": {"title": …, "body": …}}``). It renders into that same shape,
so the send path's own locale choice (core/localize.py) picks the variant.

Templates run in Jinja2's immutable sandbox, which refuses attributes that reach Python's
internals (``''.__class__``) and any call that changes a value
(https://jinja.palletsprojects.com/en/stable/sandbox/); an undefined name is an error,
never an empty string. Push text is not HTML, so nothing is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from jinja2 import ChainableUndefined, StrictUndefined, TemplateError, meta
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from pushgate.core.localize import choose_variant

# What a rendered template may make, the limits of a notification's own fields
# (core/notification_input.py: ShortText, Text, MAX_DATA_BYTES, MAX_OVERRIDES_BYTES).
TEXT_LIMITS = {"title": 256, "subtitle": 256, "body": 2048}
MAX_DATA_BYTES = 4096
MAX_OVERRIDES_BYTES = 8192
TEXT_FIELDS = ("title", "subtitle", "body")
# The names a template may read: the notification's data, its recipient user and device.
CONTEXT_NAMES = frozenset({"data", "user", "device"})
RECIPIENT_NAMES = frozenset({"user", "device"})

# The largest string or sequence an operator or a string method may make while rendering,
# and the largest exponent: what a template makes is cut to a notification's limits
# afterwards, but a value must not take the worker's memory first ('x' * 10**9).
MAX_MADE = 65_536
MAX_EXPONENT = 256
# Filters that pad text to a width given in the template or the data.
_PADDING_FILTERS = ("center", "indent", "format")


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, with ``*``, ``**`` and ``%`` and the padding string
    methods bounded (the sandbox bounds ``range`` itself, to 100,000 items)."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and _too_big(left, right):
            raise SecurityError(f"a repetition beyond {MAX_MADE} items is not allowed")
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent beyond {MAX_EXPONENT} is not allowed")
        made = super().call_binop(context, operator, left, right)
        if isinstance(made, str) and len(made) > MAX_MADE:
            raise SecurityError(f"a string beyond {MAX_MADE} characters is not allowed")
        return made

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(getattr(__obj, "__self__", None), str) and any(
            isinstance(a, int) and abs(a) > MAX_MADE for a in (*args, *kwargs.values())
        ):
            raise SecurityError(f"a string beyond {MAX_MADE} characters is not allowed")
        return super().call(__context, __obj, *args, **kwargs)


def _too_big(left: Any, right: Any) -> bool:
    for sized, count in ((left, right), (right, left)):
        if isinstance(sized, str | list | tuple) and isinstance(count, int):
            return len(sized) * count > MAX_MADE
    return False


_ENVIRONMENT = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
for _name in _PADDING_FILTERS:
    del _ENVIRONMENT.filters[_name]


class TemplateFailure(Exception):
    """A template that does not compile or render; ``field`` names where
    (``template.body``, ``template.locales.de.title``, ``template.data.url``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """A template's compiled parts by their path in the content (``("locales", "de",
    "title")``), the source's other values kept as given, and whether any part reads the
    recipient (``user`` or ``device``), which decides when it renders."""

    source: dict[str, Any]
    parts: dict[tuple[str, ...], Any]
    uses_recipient: bool
    # The parts that read the recipient; the others render alike for every delivery.
    personal: frozenset[tuple[str, ...]] = frozenset()
    # Whether a part reads ``device`` (else the recipient is its user alone).
    reads_device: bool = False


def compile_template(source: Mapping[str, Any]) -> CompiledTemplate:
    """Compile every string of ``source``; a syntax error, or a name other than ``data``,
    ``user`` and ``device``, is a :class:`TemplateFailure` naming the field."""
    parts: dict[tuple[str, ...], Any] = {}
    names: set[str] = set()
    personal: set[tuple[str, ...]] = set()
    for path, text in _strings(source, ()):
        field = _field(path)
        try:
            tree = _ENVIRONMENT.parse(text)
            found = meta.find_undeclared_variables(tree)
            parts[path] = _ENVIRONMENT.from_string(tree)
        except TemplateError as exc:
            raise TemplateFailure(field, _message(exc)) from exc
        unknown = sorted(found - CONTEXT_NAMES)
        if unknown:
            raise TemplateFailure(
                field, f"unknown name {unknown[0]!r}: a template reads data, user and device"
            )
        names |= found
        if found & RECIPIENT_NAMES:
            personal.add(path)
    return CompiledTemplate(
        dict(source), parts, bool(personal), frozenset(personal), "device" in names
    )


class TemplateCache:
    """Compiled templates by (type id, version): a type's template is compiled once per
    change in each process, however many sends and deliveries render it. Bounded: the
    oldest entry goes when it is full."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.compiled: dict[tuple[str, int], CompiledTemplate] = {}

    def get(self, type_id: str, version: int, source: Mapping[str, Any]) -> CompiledTemplate:
        key = (type_id, version)
        found = self.compiled.get(key)
        if found is None:
            found = compile_template(source)
            if len(self.compiled) >= self.size:
                del self.compiled[next(iter(self.compiled))]
            self.compiled[key] = found
        return found


def render(
    template: CompiledTemplate,
    context: Mapping[str, Any],
    locales: tuple[str | None, ...] = (),
    shared: dict[tuple[str, ...], str] | None = None,
    stand_ins: Mapping[tuple[str, ...], str] | None = None,
) -> dict[str, Any]:
    """The content ``template`` makes from ``context`` (``data``, ``user``, ``device``):
    every field, and of the locale variants every one, or with ``locales`` only the
    variant they choose (what one recipient gets). With ``shared``, the parts that do not
    read the recipient are rendered once into it and reused (a send batch's deliveries
    share one ``data``). Raises :class:`TemplateFailure`, naming the field, for an error
    while rendering (an undefined name, an unsafe attribute) or a result beyond a
    notification's limits. With ``stand_ins``, the parts that read the recipient are
    not rendered: each is the stand-in given for its path."""

    text = _part_renderer(template, {**_ENVIRONMENT.globals, **context}, shared, stand_ins)
    source = template.source
    wanted: set[str] | None = None
    if locales:
        variants = source.get("locales") or {}
        chosen = choose_variant({tag: tag for tag in variants}, *locales)
        wanted = set() if chosen is None else {chosen}
    out: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if source.get(name) is not None:
            out[name] = text((name,))
    for name in ("data", "overrides"):
        if source.get(name):
            out[name] = _tree(text, source[name], (name,))
    rendered_locales: dict[str, dict[str, str]] = {}
    for tag, variant in (source.get("locales") or {}).items():
        if wanted is not None and tag not in wanted:
            continue
        rendered_locales[tag] = {
            name: text(("locales", tag, name))
            for name in TEXT_FIELDS
            if variant.get(name) is not None
        }
    if rendered_locales:
        out["locales"] = rendered_locales
    _check_sizes(out)
    return out


def _part_renderer(
    template: CompiledTemplate,
    scope: dict[str, Any],
    shared: dict[tuple[str, ...], str] | None,
    stand_ins: Mapping[tuple[str, ...], str] | None,
) -> Callable[[tuple[str, ...]], str]:
    """Renders one part by its path for :func:`render`: a stand-in where given, a part
    that does not read the recipient once into ``shared``, the others each time."""

    def text(path: tuple[str, ...]) -> str:
        if stand_ins is not None and path in stand_ins:
            return stand_ins[path]
        if shared is None or path in template.personal:
            return _text(template, path, scope)
        found = shared.get(path)
        if found is None:
            found = shared[path] = _text(template, path, scope)
        return found

    return text


def render_part(
    template: CompiledTemplate, path: tuple[str, ...], context: Mapping[str, Any]
) -> str:
    """One part of ``template`` (a path of ``template.parts``) rendered in ``context``,
    held to the limit of its text field when it is one (title, subtitle, body, at the
    top or in a locale variant); :class:`TemplateFailure` naming the field otherwise."""
    text = _text(template, path, {**_ENVIRONMENT.globals, **context})
    limit = TEXT_LIMITS.get(path[-1]) if path[0] in (*TEXT_FIELDS, "locales") else None
    if limit is not None and len(text) > limit:
        raise TemplateFailure(_field(path), f"renders {len(text)} characters, more than {limit}")
    return text


def sample_context(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with a recipient whose every field exists: what a template that reads the
    recipient is checked against when it is accepted, so only problems of ``data`` are
    refused then (an attribute a real user lacks fails that delivery alone)."""
    return {
        "data": data,
        "user": {
            "external_id": "sample",
            "locale": "en",
            "timezone": "UTC",
            "attributes": _AnyAttributes(),
        },
        "device": {"platform": "ios", "locale": "en", "timezone": "UTC", "provider": "apns"},
    }


class _AnyAttributes(dict[str, Any]):
    """A user's attributes with every name present (rendered as an empty string)."""

    def __missing__(self, key: str) -> Any:
        return ChainableUndefined(name=key)


def merge(rendered: Mapping[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` (a notification's content) completed by ``rendered``: what the request
    says itself wins, field by field, key by key of ``data`` and each provider's
    overrides, and text by text of each locale variant."""
    content = dict(given)
    for name in TEXT_FIELDS:
        if content.get(name) is None and rendered.get(name) is not None:
            content[name] = rendered[name]
    for name in ("data", "overrides"):
        if rendered.get(name):
            content[name] = _merged(rendered[name], content.get(name) or {})
    if rendered.get("locales"):
        ours: dict[str, Any] = dict(content.get("locales") or {})
        for tag, variant in rendered["locales"].items():
            ours[tag] = {**variant, **{k: v for k, v in (ours.get(tag) or {}).items() if v}}
        content["locales"] = ours
    return content


def _merged(base: Mapping[str, Any], wins: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in wins.items():
        below = out.get(key)
        if isinstance(value, dict) and isinstance(below, dict):
            out[key] = _merged(below, value)
        else:
            out[key] = value
    return out


def _strings(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, str(index)))


def _text(template: CompiledTemplate, path: tuple[str, ...], scope: dict[str, Any]) -> str:
    """One part rendered in ``scope`` (the context over the environment's globals, made
    once per render): ``Template.render`` would copy the globals again for every part."""
    part = template.parts[path]
    try:
        text = "".join(part.root_render_func(part.new_context(scope, shared=True)))
    except TemplateError as exc:
        raise TemplateFailure(_field(path), _message(exc)) from exc
    except (ArithmeticError, TypeError, ValueError, LookupError) as exc:
        # What a filter or an operator raises on values of the wrong kind.
        raise TemplateFailure(_field(path), f"{type(exc).__name__}: {exc}") from exc
    return text


def _tree(text: Callable[[tuple[str, ...]], str], value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return text(path)
    if isinstance(value, Mapping):
        return {k: _tree(text, v, (*path, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_tree(text, v, (*path, str(i))) for i, v in enumerate(value)]
    return value


def _check_sizes(out: dict[str, Any]) -> None:
    variants = [
        ((), out),
        *((("locales", tag), v) for tag, v in (out.get("locales") or {}).items()),
    ]
    for where, variant in variants:
        for name, limit in TEXT_LIMITS.items():
            text = variant.get(name)
            if text is not None and len(text) > limit:
                raise TemplateFailure(
                    _field((*where, name)), f"renders {len(text)} characters, more than {limit}"
                )
    for name, limit in (("data", MAX_DATA_BYTES), ("overrides", MAX_OVERRIDES_BYTES)):
        if name in out and len(orjson.dumps(out[name])) > limit:
            raise TemplateFailure(f"template.{name}", f"renders more than {limit} bytes as JSON")


def _field(path: tuple[str, ...]) -> str:
    return ".".join(("template", *path))


def _message(exc: TemplateError) -> str:
    return f"{type(exc).__name__}: {exc.message or exc}"


__all__ = [
    "CompiledTemplate",
    "TemplateCache",
    "TemplateFailure",
    "compile_template",
    "merge",
    "render",
    "render_part",
    "sample_context",
]
