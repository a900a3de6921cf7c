"""Template bombs: payloads under a few hundred characters that once froze a worker.

Each payload renders in its own process with a hard address-space limit and a timeout, so
code that builds the value before checking its size fails fast here (MemoryError or a
timeout) instead of taking the machine's memory: a single C-level operation (``str`` of a
list holding 10,000 references to a 600 MB list, a quadratic ``sum`` of lists, a JSON
indent of 9,999 per nesting level) cannot be interrupted once started. The new code sizes
every such value from its inputs first, so each payload must end in a ``TemplateError``
that names the render limit, within generous time and memory bounds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

MAX_SECONDS = 5.0  # generous: the refusals take milliseconds
MAX_GROWTH_MB = 100  # generous: the refusals allocate a few MB at most
ADDRESS_SPACE_HEADROOM_MB = 512  # the old code hits MemoryError here, not the machine's RAM
TIMEOUT_S = 20.0

BIG = "{% set b = ['x' * 60000] * 10000 %}"  # 10,000 references to one 60 KB string
SQUARINGS = "".join(f"{{% set n{i + 1} = n{i} * n{i} %}}" for i in range(18))  # 2 ** 262M

# (payload, the words the refusal must contain; "a|b" means either)
JINJA_BOMBS = [
    # the three
    ("{% set a='a'*60000 %}{% set b=[a]*10000 %}{{ [b]*10000 }}", "max_output_chars"),
    ("{{ ([[1]*10000]*10000)|sum(start=[])|length }}", "filter 'sum' result"),
    ("{{ ([[[[1]]]]*10000)|tojson(indent=9999)|length }}", "filter 'tojson'"),
    # sequence repetition shown as text, concatenation, join
    (BIG + "{{ b * 1 }}", "max_output_chars"),
    (BIG + "{{ b ~ '' }}", "'~' concatenation"),
    (BIG + "{{ [b, b]|join }}", "filter 'join' result"),
    (BIG + "{{ ''.join([b]) }}", "str.join result"),
    # format, %, str.format
    (BIG + "{{ '%s' % (b,) }}", "'%' formatting"),
    (BIG + "{{ '%s'|format(b) }}", "filter 'format'"),
    (BIG + "{{ '{}'.format(b) }}", "str.format"),
    # center, indent, wordwrap, text filters
    (BIG + "{{ b|center(10) }}", "filter 'center'"),
    ("{{ ('\\n' * 10000)|indent(10000, true, true) }}", "filter 'indent' result"),
    ("{{ ('x ' * 30000)|wordwrap(1, wrapstring='y' * 60000) }}", "filter 'wordwrap'"),
    (BIG + "{{ b|string|length }}", "filter 'string'"),
    # integers: products of products
    ("{% set n0 = 2 ** 1000 %}" + SQUARINGS + "{{ n18 % 7 }}", "'*' product"),
    # range: C-level work repeated in a loop is charged by size, and the deadline holds
    (
        "{% for i in range(10000) %}{{ range(10000)|list|sort|length }}{% endfor %}",
        "1000000 steps, max_work|took longer than 1.0 s (max_seconds)",  # whichever is first
    ),
]

LEGACY_BOMBS = [
    # a 100,000-character legacy prompt that used to expand 1,000 times
    ("{x:>10000}" * 10_000, "legacy limit of 1000000 characters"),
    ("{x!r:>9999}" * 8_000, "legacy limit of 1000000 characters"),
]

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from auterity_ai_step.contract.step import validate_step_config
    from auterity_ai_step.contract.templates import build_messages, render_template
    from auterity_ai_step.errors import TemplateError

    kind, payload, headroom = sys.argv[1], sys.argv[2], int(sys.argv[3])
    render_template("warm {{ x }}", {"x": 1})
    build_messages(validate_step_config({"prompt": "warm {x}"}), {"x": 1})
    vm = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + headroom, vm + headroom))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        if kind == "legacy":
            build_messages(validate_step_config({"prompt": payload}), {"x": "a"})
        else:
            render_template(payload, {"name": "ann"}, where="prompt")
        outcome = "rendered without an error"
    except TemplateError as exc:
        outcome = "TemplateError: " + str(exc)
    except MemoryError:
        outcome = "MemoryError"
    seconds = time.perf_counter() - start
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(json.dumps({"outcome": outcome, "seconds": seconds, "growth_mb": growth}))
    """
)


def _render_in_child(kind: str, payload: str) -> dict[str, object]:
    headroom = str(ADDRESS_SPACE_HEADROOM_MB * 2**20)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, kind, payload, headroom],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{payload[:70]!r} still rendering after {TIMEOUT_S} s")
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _check(kind: str, payload: str, words: str) -> None:
    result = _render_in_child(kind, payload)
    outcome = str(result["outcome"])
    assert outcome.startswith("TemplateError: "), f"{payload[:70]!r}: {outcome}"
    assert any(w in outcome for w in words.split("|")), f"{payload[:70]!r}: {outcome}"
    # The refusal names the limit that stopped it (the deadline's is "(max_seconds)").
    assert "limit" in outcome or "too much work" in outcome or "(max_seconds)" in outcome, outcome
    assert float(str(result["seconds"])) < MAX_SECONDS, result
    assert float(str(result["growth_mb"])) < MAX_GROWTH_MB, result


@pytest.mark.parametrize(("payload", "words"), JINJA_BOMBS, ids=range(len(JINJA_BOMBS)))
def test_jinja_bomb_is_refused_fast_and_small(payload: str, words: str) -> None:
    _check("jinja", payload, words)


@pytest.mark.parametrize(("payload", "words"), LEGACY_BOMBS, ids=range(len(LEGACY_BOMBS)))
def test_legacy_bomb_is_refused_fast_and_small(payload: str, words: str) -> None:
    _check("legacy", payload, words)
