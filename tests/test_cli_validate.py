"""``validate`` as a new user meets it: every problem of a step file in one run, one a
line, with its field, a "did you mean" where a close name exists, and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from auterity_ai_step.cli import app

runner = CliRunner()


def validate(tmp_path: Path, text: str, name: str = "step.yml") -> tuple[int, list[str]]:
    step = tmp_path / name
    step.write_text(text)
    result = runner.invoke(app, ["validate", str(step)])
    assert result.stdout == ("" if result.exit_code else result.stdout)
    return result.exit_code, result.stderr.splitlines()


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Reply to {{ inquiry }", "prompt: template syntax error at line 1, column 21: "),
        (
            "Dear {{ name }},\\n{% if vip %}Thanks!",
            "prompt: template syntax error at line 2, column 20: Unexpected end of template.",
        ),
        ("{{ name | shout }}", "prompt: template syntax error at line 1: No filter named 'shout'"),
    ],
)
def test_a_broken_jinja_template_is_invalid(tmp_path: Path, prompt: str, expected: str) -> None:
    code, err = validate(tmp_path, f'config_version: 2\nprompt: "{prompt}"\n')
    assert code == 1
    assert len(err) == 1 and err[0].startswith(expected), err


def test_every_template_and_every_schema_error_in_one_run(tmp_path: Path) -> None:
    code, err = validate(
        tmp_path,
        "config_version: 2\n"
        "messages:\n"
        "  - {role: system, content: 'You help {{ dealer.name }.'}\n"
        "  - {role: user, content: '{% for c in cars %}{{ c }}'}\n"
        "system: '{{ 1 + }}'\n"
        "temperature: 3\n"
        "fallback_models: [gpt-4o-mini, gpt-4o-mini]\n",
    )
    assert code == 1
    assert [line.split(":")[0] for line in err] == [
        "fallback_models[1]",
        "messages[0].content",
        "messages[1].content",
        "system",
        "temperature",
    ]
    assert err[1].startswith("messages[0].content: template syntax error at line 1, column 25: ")
    assert err[3].startswith("system: template syntax error at line 1, column 8: ")


def test_a_legacy_prompt_with_a_broken_placeholder_is_invalid(tmp_path: Path) -> None:
    code, err = validate(tmp_path, "prompt: 'Hello {name}, about {car'\n")
    assert (code, err) == (
        1,
        ["prompt: template syntax error at line 1, column 21: expected '}' before end of string"],
    )
    assert validate(tmp_path, "prompt: 'Hello {name}, {{literal}}'\n") == (0, [])


def test_misspelled_keys_one_a_line_with_did_you_mean_and_the_allowed_list_once(
    tmp_path: Path,
) -> None:
    code, err = validate(tmp_path, "prompt: hi\nmodle: gpt-4o\nmax_token: 5\nbanana: 1\n")
    assert code == 1
    assert err[:3] == [
        "banana: unknown key; remove it",
        "max_token: unknown key; did you mean max_tokens? Rename it",
        "modle: unknown key; did you mean model? Rename it",
    ]
    assert len(err) == 4 and err[3].startswith("<step>: allowed keys: config_version, prompt,")
    assert sum(line.count("max_tokens, timeout_s") for line in err) == 1


def test_an_empty_step_file_says_what_to_write(tmp_path: Path) -> None:
    code, err = validate(tmp_path, "")
    assert code == 1
    assert err == [
        f"step file {tmp_path / 'step.yml'} is empty: write the step's keys in it, e.g. "
        "'prompt: Reply to {{ inquiry }}' ('auterity-ai-step schema' lists them all)"
    ]


def test_yaml_saved_as_json_says_so_and_how_to_fix_it(tmp_path: Path) -> None:
    code, err = validate(tmp_path, "config_version: 2\nprompt: hi\n", name="step.json")
    assert code == 1
    assert err == [
        f"step file {tmp_path / 'step.json'} holds YAML, not JSON (line 1, column 1: "
        "Expecting value); rename it to step.yml, or write it as JSON"
    ]


def test_a_valid_step_stays_valid(tmp_path: Path) -> None:
    code, err = validate(
        tmp_path, "config_version: 2\nprompt: 'Reply to {{ inquiry }}'\nsystem: Be brief.\n"
    )
    assert (code, err) == (0, [])
