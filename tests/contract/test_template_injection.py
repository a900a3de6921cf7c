"""The template-injection corpus: every well-known Jinja2 payload family is refused.

Each payload must end in a TemplateError that names the problem: no crash, no leak of
Python internals, and bounded work (huge loops and allocations are refused by the render
budget before they run, so this file finishes in well under a second).
"""

from __future__ import annotations

import pytest

from auterity_ai_step.contract.step import validate_step_config
from auterity_ai_step.contract.templates import RenderLimits, build_messages, render_template
from auterity_ai_step.errors import TemplateError

VARS = {"name": "Ann", "items": [1, 2, 3], "car": {"make": "VW"}}

CORPUS = [
    # attribute walks to Python internals
    ("{{ ''.__class__.__mro__ }}", "unsafe"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
    ("{{ name.__class__.__base__.__subclasses__() }}", "unsafe"),
    ("{{ car.__init__.__globals__ }}", "unsafe"),
    ("{{ car.items.__self__ }}", "unsafe"),
    ("{{ range.__globals__['os'] }}", "unsafe"),
    ("{{ ''['__class__'] }}", "unsafe"),
    ("{{ name|attr('__class__') }}", "unsafe"),
    ("{{ (name|attr('__class__')).__mro__ }}", "unsafe"),
    ("{{ self.__dict__ }}", "unsafe"),
    ("{{ self._TemplateReference__context }}", "unsafe"),
    ("{{ name.translate({65: 'x'}) }}", "unsafe"),
    ("{{ items.append(4) }}", "unsafe"),
    ("{{ car.update({'a': 1}) }}", "unsafe"),
    # globals and Flask-isms that are not there
    ("{{ cycler.__init__.__globals__.os }}", "unsafe"),
    ("{{ cycler(1, 2).next() }}", "undefined variable: 'cycler'"),
    ("{{ joiner.__init__.__globals__ }}", "unsafe"),
    ("{{ joiner() }}", "undefined variable: 'joiner'"),
    ("{% set ns = namespace(a=1) %}{{ ns.a }}", "undefined variable: 'namespace'"),
    ("{{ lipsum.__globals__['os'] }}", "undefined variable: 'lipsum'"),
    ("{{ lipsum(1000) }}", "undefined variable: 'lipsum'"),
    ("{{ config.items() }}", "undefined variable: 'config'"),
    ("{{ request.application.__globals__ }}", "undefined variable: 'request'"),
    ("{{ url_for.__globals__ }}", "undefined variable: 'url_for'"),
    ("{{ get_flashed_messages() }}", "undefined variable: 'get_flashed_messages'"),
    # format-string tricks
    ("{{ '{0.__class__}'.format(name) }}", "unsafe"),
    ("{{ '{0.__class__.__mro__}'.format(name) }}", "unsafe"),
    ("{{ '{make.__class__}'.format_map(car) }}", "unsafe"),
    ("{{ '{:>999999999}'.format(1) }}", "str.format width"),
    ("{{ '{:{w}}'.format(1, w=9) }}", "nested format fields"),
    ("{{ '%999999999d' % 1 }}", "'%' formatting width"),
    ("{{ '%*d' % (999999999, 1) }}", "'*' widths"),
    ("{{ '%999999999s'|format(name) }}", "filter 'format' width"),
    ("{{ '%s %s'|format(1, a=2) }}", "not both"),
    # huge loops and allocations
    ("{% for i in range(999999999) %}{% endfor %}", "range(): size 999999999"),
    (
        "{% for i in range(9000) %}{% for j in range(9000) %}{% endfor %}{% endfor %}",
        # Whichever limit a loaded machine reaches first: both name themselves.
        "too much work | max_seconds",
    ),
    ("{{ 'a' * 999999999 }}", "'*' repetition"),
    ("{{ [0] * 999999999 }}", "'*' repetition"),
    ("{{ 9 ** 999999 }}", "'**' exponent"),
    ("{{ (2 ** 1000) ** 1000 }}", "'**' exponent"),
    ("{{ 'x'|center(999999999) }}", "filter 'center' argument"),
    ("{{ name.ljust(999999999) }}", "str.ljust argument"),
    ("{{ items|batch(999999999, 0)|list }}", "filter 'batch' argument"),
    ("{{ ('x' * 60000)|replace('x', 'yy') }}", "replace() result"),
    ("{{ 'ab'|replace('', 'x' * 60000) }}", "replace() result"),
    ("{{ ('x' * 60000).replace('x', 'yy') }}", "replace() result"),
    ("{{ ['x' * 60000, 'y' * 60000]|join }}", "join' result"),
    ("{{ ''.join(['x' * 60000, 'y' * 60000]) }}", "str.join result"),
    ("{{ ('x' * 60000) ~ ('y' * 60000) }}", "concatenation"),
    ("{{ ('x' * 60000) + ('y' * 60000) }}", "would build a string"),
    ("{{ ('x\n' * 30000)|indent(100) }}", "filter 'indent' result"),
    (
        "{% set s %}{% for i in range(5000) %}{{ 'x' * 5000 }}{% endfor %}{% endset %}",
        "characters of text",
    ),
    (
        "{% macro m() %}{% for i in range(5000) %}{{ 'x' * 5000 }}{% endfor %}{% endmacro %}"
        "{{ m()|length }}",
        "characters of text",
    ),
    ("{% for i in range(10000) %}{{ 'x' * 1000 }}{% endfor %}", "output is longer than 65536"),
    # deep recursion
    ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion is deeper than 32"),
    ("{% for x in items recursive %}{{ loop(items) }}{% endfor %}", "recursion is deeper than 32"),
    ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "nest"),
    # loading other templates
    ("{% include 'secrets.txt' %}", "cannot include, import or extend"),
    ("{% extends '/etc/passwd' %}", "cannot include, import or extend"),
    ("{% import 'x' as y %}", "cannot include, import or extend"),
]


@pytest.mark.parametrize(("payload", "message"), CORPUS)
def test_payload_is_refused_with_a_clear_error(payload: str, message: str) -> None:
    with pytest.raises(TemplateError) as err:
        render_template(payload, VARS, where="prompt")
    text = str(err.value)
    assert text.startswith("prompt")
    assert any(part in text for part in message.split(" | ")), text
    for leak in ("<class", "<module", "<built-in", "os.system", "Traceback"):
        assert leak not in text


def test_corpus_is_refused_through_build_messages_too() -> None:
    for payload, _ in CORPUS:
        config = validate_step_config({"config_version": 2, "prompt": payload})
        with pytest.raises(TemplateError):
            build_messages(config, VARS)


def test_work_budget_and_deadline_are_enforced() -> None:
    with pytest.raises(TemplateError, match="too much work"):
        render_template(
            "{% for i in items %}{{ i }}{% endfor %}",
            {"items": range(50)},
            limits=RenderLimits(max_work=20),
        )
    with pytest.raises(TemplateError, match="took longer than 0"):
        render_template(
            "{% for i in range(5000) %}{{ i }}{% endfor %}", {}, limits=RenderLimits(max_seconds=0)
        )
    with pytest.raises(TemplateError, match="collection of"):
        render_template("{{ items|list }}", {"items": range(20_000)})


def test_render_outside_budget_is_a_bug_not_a_bypass() -> None:
    from auterity_ai_step.contract import template_budget

    with pytest.raises(AssertionError):
        template_budget.budget()
