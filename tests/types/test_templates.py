"""Templates on their own (core/templates.py): what they may read, the sandbox, strict
undefined names, locale variants, limits, the per-version cache."""

from __future__ import annotations

import pytest

from pushgate.core.templates import (
    TemplateCache,
    TemplateFailure,
    compile_template,
    merge,
    render,
    sample_context,
)


def test_whether_a_template_reads_the_recipient_is_known_when_it_compiles() -> None:
    assert not compile_template({"title": "{{ data.a }}", "data": {"k": "x"}}).uses_recipient
    assert compile_template({"locales": {"de": {"body": "{{ user.locale }}"}}}).uses_recipient
    assert compile_template({"data": {"k": ["{{ device.platform }}"]}}).uses_recipient


def test_only_data_user_and_device_may_be_read() -> None:
    with pytest.raises(TemplateFailure) as caught:
        compile_template({"body": "{{ data.a }} {{ secrets }}"})
    assert caught.value.field == "template.body"
    assert "secrets" in caught.value.message


def test_undefined_names_are_errors_but_may_be_tested() -> None:
    template = compile_template(
        {"body": "{{ data.a }}{% if data.b is defined %}+{{ data.b }}{% endif %}"}
    )
    assert render(template, {"data": {"a": 1}}) == {"body": "1"}
    assert render(template, {"data": {"a": 1, "b": 2}}) == {"body": "1+2"}
    with pytest.raises(TemplateFailure, match="UndefinedError"):
        render(template, {"data": {}})


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ data.__class__ }}",
        "{{ data.pop('a') }}",
        "{{ user.attributes.clear() }}",
    ],
)
def test_the_sandbox_refuses_internals_and_changes(text: str) -> None:
    template = compile_template({"body": text})
    context = {"data": {"a": 1}, "user": {"attributes": {"x": 1}}}
    with pytest.raises(TemplateFailure, match="SecurityError") as caught:
        render(template, context)
    assert caught.value.field == "template.body"
    assert context == {"data": {"a": 1}, "user": {"attributes": {"x": 1}}}


def test_nothing_is_escaped() -> None:
    template = compile_template({"body": "{{ data.t }}"})
    assert render(template, {"data": {"t": "<b>Tom & Jerry</b>"}}) == {"body": "<b>Tom & Jerry</b>"}


def test_a_recipient_gets_only_the_variant_its_locales_choose() -> None:
    template = compile_template(
        {"title": "Hi", "locales": {"de": {"title": "Hallo"}, "fr-CA": {"title": "Salut"}}}
    )
    assert render(template, {}, ("de-AT", None))["locales"] == {"de": {"title": "Hallo"}}
    assert render(template, {}, (None, "fr-ca"))["locales"] == {"fr-CA": {"title": "Salut"}}
    assert "locales" not in render(template, {}, ("es", None))
    assert set(render(template, {})["locales"]) == {"de", "fr-CA"}


def test_what_renders_is_held_to_a_notifications_limits() -> None:
    with pytest.raises(TemplateFailure) as caught:
        render(compile_template({"locales": {"de": {"title": "{{ 'x' * 257 }}"}}}), {})
    assert caught.value.field == "template.locales.de.title"
    with pytest.raises(TemplateFailure) as caught:
        render(compile_template({"data": {"big": "{{ 'x' * 5000 }}"}}), {})
    assert caught.value.field == "template.data"


def test_the_request_wins_over_the_template() -> None:
    rendered = {
        "title": "T",
        "body": "B",
        "data": {"a": 1, "b": 2},
        "locales": {"de": {"title": "DT", "body": "DB"}},
    }
    given = {"title": "mine", "data": {"b": 3}, "locales": {"de": {"title": "meins"}}}
    merged = merge(rendered, given)
    assert (merged["title"], merged["body"]) == ("mine", "B")
    assert merged["data"] == {"a": 1, "b": 3}
    assert merged["locales"] == {"de": {"title": "meins", "body": "DB"}}


def test_the_sample_recipient_has_every_attribute() -> None:
    template = compile_template({"body": "{{ user.attributes.name }}|{{ device.platform }}"})
    assert render(template, sample_context({}))["body"] == "|ios"


def test_a_template_compiles_once_per_type_version() -> None:
    cache = TemplateCache(size=2)
    first = cache.get("t", 1, {"body": "a"})
    assert cache.get("t", 1, {"body": "ignored"}) is first
    assert cache.get("t", 2, {"body": "b"}) is not first
    cache.get("u", 1, {"body": "c"})
    assert ("t", 1) not in cache.compiled  # the oldest went


@pytest.mark.parametrize(
    "text",
    [
        "{{ 'x' * 1000000000 }}",
        "{{ [1] * 1000000000 }}",
        "{{ 10 ** 100000000 }}",
        "{{ '%*s' % (1000000000, 'x') }}",
        "{{ 'x'.ljust(1000000000) }}",
        "{{ data.t.center(1000000000) }}",
    ],
)
def test_values_too_big_to_make_are_refused_before_they_are_made(text: str) -> None:
    with pytest.raises(TemplateFailure, match="SecurityError"):
        render(compile_template({"body": text}), {"data": {"t": "x"}})


def test_padding_filters_are_not_offered() -> None:
    with pytest.raises(TemplateFailure, match="center"):
        compile_template({"body": "{{ data.t|center(1000000000) }}"})


def test_parts_that_do_not_read_the_recipient_render_once_per_batch() -> None:
    template = compile_template({"title": "Hi {{ user.attributes.name }}", "body": "{{ data.t }}"})
    assert template.personal == {("title",)}
    shared: dict[tuple[str, ...], str] = {}
    first = render(
        template, {"data": {"t": "x"}, "user": {"attributes": {"name": "A"}}}, (), shared
    )
    again = render(
        template, {"data": {"t": "y"}, "user": {"attributes": {"name": "B"}}}, (), shared
    )
    assert (first, shared) == ({"title": "Hi A", "body": "x"}, {("body",): "x"})
    assert again == {"title": "Hi B", "body": "x"}  # the batch's data is one
