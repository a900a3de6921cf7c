"""Prompt building: today's legacy behaviour byte for byte, Jinja2 for new-style steps."""

from __future__ import annotations

import json

import pytest

from auterity_ai_step.contract.step import validate_step_config
from auterity_ai_step.contract.template_sandbox import _compile, renders_in_place
from auterity_ai_step.contract.templates import (
    DEFAULT_SYSTEM_PROMPT,
    DEFAULT_TEMPLATES,
    PromptTemplate,
    RenderLimits,
    build_messages,
    legacy_format,
    render_template,
)
from auterity_ai_step.errors import AIServiceError, LegacyTemplateError, TemplateError

TODAY = {
    "customer_inquiry": (
        "You are a helpful automotive dealership assistant. A customer has submitted the "
        "following inquiry: '{inquiry}'. Please provide a professional and helpful response "
        "that addresses their needs. Context: {context}",
        ["inquiry", "context"],
    ),
    "lead_qualification": (
        "Analyze the following customer information and determine their qualification level "
        "for automotive sales. Customer info: {customer_info}. Provide a qualification score "
        "(1-10) and reasoning.",
        ["customer_info"],
    ),
    "service_recommendation": (
        "Based on the vehicle information and customer concerns, recommend appropriate service "
        "actions. Vehicle: {vehicle_info}, Concerns: {concerns}. Provide specific "
        "recommendations and estimated costs if applicable.",
        ["vehicle_info", "concerns"],
    ),
    "generic_processing": (
        "Process the following data according to the instructions: {instructions}. Data: "
        "{data}. Provide a structured response.",
        ["instructions", "data"],
    ),
}


def step(**data: object):  # type: ignore[no-untyped-def]
    return validate_step_config(data)


def test_default_templates_are_todays_texts() -> None:
    assert set(DEFAULT_TEMPLATES) == set(TODAY)
    for name, (text, variables) in TODAY.items():
        assert DEFAULT_TEMPLATES[name].template == text
        assert DEFAULT_TEMPLATES[name].variables == variables
    assert DEFAULT_SYSTEM_PROMPT == (
        "You are a helpful AI assistant for automotive dealership workflows."
    )


def test_prompt_template_missing_variables_message_is_todays() -> None:
    with pytest.raises(AIServiceError) as err:
        DEFAULT_TEMPLATES["customer_inquiry"].format(context="c")
    assert str(err.value) == "Missing required variables: ['inquiry']"


def test_prompt_template_raises_the_contracts_error_that_is_also_todays_class() -> None:
    with pytest.raises(LegacyTemplateError) as err:
        PromptTemplate("Hi {name}", ["name"]).format()
    assert isinstance(err.value, TemplateError) and isinstance(err.value, AIServiceError)
    assert str(err.value) == "Missing required variables: ['name']"


def test_prompt_template_key_error_message_is_todays() -> None:
    with pytest.raises(AIServiceError) as err:
        PromptTemplate("Hi {name} {other}", ["name"]).format(name="Bob")
    assert str(err.value) == "Template formatting error: 'other'"


def test_prompt_template_formats_like_str_format() -> None:
    text = "{a} {b!r} {c:>5} {{literal}} {d[0]} {e[k]}"
    values = {"a": 1, "b": "x", "c": "y", "d": [7], "e": {"k": "v"}}
    assert PromptTemplate(text).format(**values) == text.format(**values)


def test_legacy_prompt_renders_exactly_like_todays_executor() -> None:
    data = {"customer": "Ann", "car": {"make": "VW"}}
    messages = build_messages(step(prompt="Help {customer} with {car}"), data)
    assert messages == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": "Help Ann with {'make': 'VW'}"},
        {"role": "system", "content": f"Additional context: {json.dumps(data, indent=2)}"},
    ]


def test_legacy_prompt_without_braces_is_left_alone_and_default_prompt_used() -> None:
    assert build_messages(step(prompt="50% off }"), {})[1]["content"] == "50% off }"
    messages = build_messages(step(label="AI"), {})
    assert messages == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": "Process this data"},
    ]


def test_legacy_template_uses_input_and_template_variables() -> None:
    config = step(template="lead_qualification", template_variables={"customer_info": "VIP"})
    messages = build_messages(config, {"customer_info": "overridden", "x": 1})
    assert messages[1]["content"] == TODAY["lead_qualification"][0].format(customer_info="VIP")
    assert messages[2]["content"].startswith("Additional context: {")


def test_legacy_template_missing_variable_names_it() -> None:
    with pytest.raises(TemplateError, match=r"customer_inquiry.*\['inquiry'\]"):
        build_messages(step(template="customer_inquiry"), {"context": "c"})


def test_unknown_template_names_the_known_ones() -> None:
    config = step(template="lead_qualification").model_copy(update={"template": "nope"})
    with pytest.raises(TemplateError, match=r"Template 'nope' not found \(known: customer_inq"):
        build_messages(config, {})


def test_legacy_undefined_placeholder_names_the_variable() -> None:
    with pytest.raises(TemplateError, match=r"placeholder \{missing\} has no value"):
        build_messages(step(prompt="Hi {missing}"), {"name": "x"})


@pytest.mark.parametrize(
    "prompt",
    ["{x.__class__}", "{x.__class__.__init__.__globals__}", "{x[__class__]}", "{x._private}"],
)
def test_legacy_format_refuses_private_attribute_walks(prompt: str) -> None:
    with pytest.raises(TemplateError, match="unsafe placeholder"):
        build_messages(step(prompt=prompt), {"x": "value"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{x:>999999999}", "width over"),
        ("{0}", "formatting error"),
        ("{x", "formatting error"),
        ("{x:d}", "formatting error"),
    ],
)
def test_legacy_format_errors_are_template_errors(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        legacy_format(text, {"x": "v"})


def test_new_style_prompt_is_jinja_over_input_and_variables() -> None:
    config = step(
        config_version=2,
        prompt="{{ greeting }} {{ name|upper }} ({{ input.name }}) "
        "{% for i in items %}{{ i }}{% endfor %}",
        template_variables={"greeting": "Hello"},
    )
    messages = build_messages(config, {"name": "bob", "items": [1, 2]})
    assert messages == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": "Hello BOB (bob) 12"},
    ]


def test_new_style_system_and_messages() -> None:
    config = step(
        config_version=2,
        system="You help {{ dealer }}.",
        messages=[{"role": "user", "content": "Car: {{ car }}"}],
        template_variables={"dealer": "Acme"},
    )
    assert build_messages(config, {"car": "VW"}) == [
        {"role": "system", "content": "You help Acme."},
        {"role": "user", "content": "Car: VW"},
    ]


def test_new_style_messages_with_their_own_system_get_no_default() -> None:
    own = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    assert build_messages(step(config_version=2, messages=own), {"a": 1}) == own
    plain = [{"role": "user", "content": "U"}]
    assert build_messages(step(config_version=2, messages=plain), {})[0] == {
        "role": "system",
        "content": DEFAULT_SYSTEM_PROMPT,
    }


def test_new_style_named_template_and_default_prompt() -> None:
    config = step(config_version=2, template="generic_processing")
    out = build_messages(config, {"instructions": "sum", "data": [1, 2]})
    assert out[1]["content"] == TODAY["generic_processing"][0].format(
        instructions="sum", data=[1, 2]
    )
    bare = step(config_version=2, prompt="x").model_copy(update={"prompt": None})
    assert build_messages(bare, {})[1]["content"] == "Process this data"


def test_new_style_undefined_variable_is_named() -> None:
    with pytest.raises(TemplateError, match=r"prompt \(line 2\): undefined variable: 'nope'"):
        build_messages(step(config_version=2, prompt="ok\n{{ nope }}"), {})


def test_syntax_error_reports_the_line() -> None:
    with pytest.raises(TemplateError, match=r"syntax error on line 3"):
        render_template("a\nb\n{% if %}", {})


def test_compiled_templates_are_cached() -> None:
    source = "cached {{ x | string }} template"
    before = _compile.cache_info().hits
    assert render_template(source, {"x": 1}) == "cached 1 template"
    assert render_template(source, {"x": 2}) == "cached 2 template"
    assert _compile.cache_info().hits >= before + 1
    plain = "cached {{ x }} plain template"  # kept compiled for renders in place
    assert not renders_in_place(plain)
    assert render_template(plain, {"x": 1}) == "cached 1 plain template"
    assert renders_in_place(plain)
    misses = _compile.cache_info().misses
    assert render_template(plain, {"x": 2}) == "cached 2 plain template"
    assert _compile.cache_info().misses == misses


def test_output_is_bounded_and_limits_are_configurable() -> None:
    limits = RenderLimits(max_output_chars=10)
    assert render_template("{{ x }}", {"x": "a" * 10}, limits=limits) == "a" * 10
    with pytest.raises(TemplateError, match="output is longer than 10 characters"):
        render_template("{% for i in range(20) %}x{% endfor %}", {}, limits=limits)
    with pytest.raises(TemplateError, match="source is longer"):
        render_template("x" * 11, {}, limits=RenderLimits(max_source_chars=10))


def test_ordinary_prompt_features_still_work() -> None:
    source = (
        "{% macro line(k, v) %}{{ k }}={{ v }}{% endmacro %}"
        "{% for k, v in car|dictsort %}{{ line(k, v) }};{% endfor %}"
        "{{ '%.2f'|format(price) }} {{ 'a,b'.split(',')|join('+') }} {{ name.title() }}"
        " {{ 'x' * 3 }} {{ 2 ** 8 }} {{ 'ab'|replace('a', 'z') }} {{ 'ab'.replace('b', 'y') }}"
        " {{ '-'.join(['p', 'q']) }} {{ '{}!'.format(name) }} {{ name ~ '?' }} {{ 'x'|center(5) }}"
        "{{ text|indent(2) }} {{ '{:>4}'.format(7) }} {{ 'abcdefghij'|truncate(8, True, '.', 0) }}"
    )
    out = render_template(
        source,
        {"car": {"make": "VW", "year": 2020}, "price": 3.14159, "name": "ann", "text": "a\nb"},
    )
    assert (
        out
        == "make=VW;year=2020;3.14 a+b Ann xxx 256 zb ay p-q ann! ann?   x  a\n  b    7 abcdefg."
    )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ '{'.format(1) }}", "str.format: Single '{'"),
        ("{{ items|join(',', attribute='a') }}", "attribute argument is not supported"),
    ],
)
def test_runtime_errors_become_template_errors(source: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        render_template(source, {"items": [1]})
