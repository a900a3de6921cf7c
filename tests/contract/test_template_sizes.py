"""Sizing before building keeps legitimate templates rendering exactly as before.

The bounded filters (``tojson``, ``sum``, ``join``, ``indent``, ``wordwrap``, ``format``) must
give Jinja2's own output for ordinary values; :func:`text_size` must equal ``len(str(v))``;
and a function or method never reaches the prompt, whatever path it takes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auterity_ai_step.contract.templates import legacy_format, render_template
from auterity_ai_step.contract.text_size import text_size
from auterity_ai_step.errors import TemplateError

PLAIN = jinja2.Environment(autoescape=False)  # Jinja2's own filters, for reference
VALUES = {
    "car": {"make": "VW", "year": 2020, "tags": ["a", "<b>", "it's"], "ok": True, "x": None},
    "items": [1, 2.5, "three", [4, [5]]],
    "lists": [[1], [2, 3], []],
    "text": "first line\nsecond line is a little longer than the first\n\nfourth",
    "name": "ann",
}
SAME_AS_JINJA = [
    "{{ car|tojson }}",
    "{{ car|tojson(indent=2) }}",
    "{{ items|tojson(4) }}",
    "{{ car|tojson(indent='\\t') }}",
    "{{ lists|sum(start=[]) }}",
    "{{ [1, 2, 3.5]|sum }} {{ [1, 2]|sum(start=10) }} {{ []|sum }}",
    "{{ [(1, 2), (3,)]|sum(start=()) }}",
    "{{ [{'p': 2}, {'p': 3}]|sum(attribute='p') }}",
    "{{ items|join(', ') }} {{ lists|join }}",
    "{{ text|indent }}|{{ text|indent(2, true) }}|{{ text|indent('> ', blank=true) }}",
    "{{ text|wordwrap(12) }}|{{ text|wordwrap(5, wrapstring='<br>') }}",
    "{{ '%s is %d, %.2f'|format(name, 3, 2.5) }} {{ '%(a)s'|format(a=car) }}",
    "{{ '%-8s|%5.1f' % (name, 3.14159) }} {{ '{:>6}|{!r}|{}'.format(name, name, items) }}",
    "{{ car }} {{ items }} {{ lists ~ name }} {{ name ~ 1 ~ 2.5 }}",
    "{{ car|string|length }} {{ text|center(80)|length }} {{ car|pprint }}",
    "{{ car|e }} {{ text|upper|truncate(20) }} {{ text|wordcount }} {{ 'a b'|urlencode }}",
    "{{ (2 ** 64) * (2 ** 64) }} {{ 'ab' * 3 }} {{ [1] * 3 + [2] }} {{ 'x' + 'y' }}",
    "{{ range(3)|list }} {{ range(10, 0, -3)|sum }}",
]


@pytest.mark.parametrize("source", SAME_AS_JINJA)
def test_bounded_filters_render_like_jinja(source: str) -> None:
    assert render_template(source, VALUES) == PLAIN.from_string(source).render(VALUES)


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner)
        | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=4)
        | st.frozensets(st.integers(), max_size=3)
        | st.sets(st.text(max_size=3), max_size=3)
    ),
    max_leaves=20,
)


@given(json_like)
def test_text_size_is_the_length_of_str(value: Any) -> None:
    assert text_size(value, limit=10**6, what="v") == len(str(value))
    assert text_size(value, limit=10**6, what="v", as_repr=True) == len(repr(value))


def test_text_size_stops_at_the_limit_without_building() -> None:
    shared = ["x" * 60_000] * 10_000  # str() of it would be 600 MB
    with pytest.raises(TemplateError, match=r"output would build more text .*\(65536"):
        text_size([shared] * 10_000, limit=65_536, what="output")


@pytest.mark.parametrize(
    "source",
    [
        "{{ name.upper }}",
        "{{ [name.upper] }}",
        "{{ {'f': name.split} }}",
        "{{ name.upper ~ '' }}",
        "{{ name.upper|string }}",
        "{{ name.upper|safe }}",
        "{{ name.upper|e }}",
        "{{ name.upper|trim }}",
        "{{ [name.upper]|join }}",
        "{{ '%s' % name.upper }}",
        "{{ '%s'|format(name.upper) }}",
        "{{ '{}'.format(name.upper) }}",
        "{{ range }}",
        "{{ dict }}",
        "{% macro m() %}x{% endmacro %}{{ m }}",
        "{% for i in [1] %}{{ loop.cycle }}{% endfor %}",
    ],
)
def test_a_function_or_method_never_renders(source: str) -> None:
    with pytest.raises(TemplateError, match="is a function or method and cannot be shown"):
        render_template(source, {"name": "ann"})


@pytest.mark.parametrize("text", ["{x.upper}", "{x.upper!s}", "{x.upper!r}", "{x.split:>20}"])
def test_legacy_placeholder_never_shows_a_method(text: str) -> None:
    with pytest.raises(TemplateError, match="is a function or method"):
        legacy_format(text, {"x": "ann"})


@pytest.mark.parametrize(
    "text",
    ["{x!r} {x!s} {x!a:>12} {y:,} {z:.3f} {w[0]} {v[k]}", "{{literal}} {x:^9} {y:08d}"],
)
def test_legacy_format_is_str_format(text: str) -> None:
    values = {"x": "é", "y": 1234567, "z": 3.14159, "w": [7], "v": {"k": "v"}}
    assert legacy_format(text, values) == text.format(**values)


def test_legacy_output_cap_is_checked_per_field() -> None:
    # Each field is sized before it is built (width + the value's text + a number's growth).
    assert legacy_format("{x:>100}" * 10, {"x": 1}, max_chars=1_100) == f"{1:>100}" * 10
    with pytest.raises(TemplateError, match="legacy limit of 1100 characters"):
        legacy_format("{x:>100}" * 11, {"x": 1}, max_chars=1_100)
    with pytest.raises(TemplateError, match="legacy limit of 1100 characters"):
        legacy_format("{x}", {"x": ["y" * 600] * 2}, max_chars=1_100)
    with pytest.raises(TemplateError, match="legacy limit of 1000000 characters"):
        legacy_format("{x:f}", {"x": Decimal("1E+999999999")})


def test_tojson_indent_is_sized_by_the_nesting_before_encoding() -> None:
    deep: Any = 1
    for _ in range(50):
        deep = [deep]
    assert render_template("{{ x|tojson(indent=1)|length }}", {"x": deep}) == str(
        len(PLAIN.from_string("{{ x|tojson(indent=1) }}").render(x=deep))
    )
    with pytest.raises(TemplateError, match="tojson' indent times nesting would build a string"):
        render_template("{{ x|tojson(indent=9999) }}", {"x": deep})
    with pytest.raises(
        TemplateError, match="tojson' argument: size 20000 is over the limit \\(max_items"
    ):
        render_template("{{ 1|tojson(indent=20000) }}", {})
