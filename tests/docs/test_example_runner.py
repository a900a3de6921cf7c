"""The example runner itself: parsing, running, masking, and catching drift."""

from __future__ import annotations

import textwrap
from pathlib import Path

from docgen.examples import (
    Command,
    EnvStep,
    FileStep,
    check_page,
    normalise,
    parse_page,
    update_page,
)

PAGE = textwrap.dedent(
    """\
    # A page

    <!-- docgen: env GREETING=hello from {workdir_name} -->

    ```yaml title="conf/step.yml"
    model: gpt-4o-mini
    ```

    ```console
    $ cat conf/step.yml
    model: gpt-4o-mini
    $ echo "$GREETING" \\
        and more
    hello from x and more
    $ export WHO=Dana
    $ echo "hi $WHO"; exit 3
    hi Dana
    ```

    ```bash
    echo never run
    ```
    """
)


def _page(tmp_path: Path, text: str = PAGE) -> Path:
    path = tmp_path / "page.md"
    path.write_text(text)
    return path


def test_parse_finds_files_env_and_commands_in_reading_order(tmp_path: Path) -> None:
    page = parse_page(_page(tmp_path))
    kinds = [type(step).__name__ for step in page.steps]
    assert kinds == ["EnvStep", "FileStep", "Command", "Command", "Command", "Command"]
    env, file = page.steps[0], page.steps[1]
    assert isinstance(env, EnvStep) and env.name == "GREETING"
    assert isinstance(file, FileStep) and file.path == "conf/step.yml"
    assert file.content == "model: gpt-4o-mini\n"
    commands = page.commands
    assert commands[1].text == 'echo "$GREETING" and more'  # continuation joined
    assert commands[1].expected == ["hello from x and more"]
    assert commands[2].expected == []


def test_check_passes_when_output_matches_and_reports_drift(tmp_path: Path) -> None:
    path = _page(tmp_path, PAGE.replace("{workdir_name}", "x"))
    assert check_page(path) == []
    drifted = _page(tmp_path, PAGE.replace("{workdir_name}", "x").replace("hi Dana", "hi Bob"))
    problems = check_page(drifted)
    assert len(problems) == 1
    assert 'echo "hi $WHO"; exit 3' in problems[0]
    assert "-hi Bob" in problems[0] and "+hi Dana" in problems[0]


def test_update_writes_real_output_under_each_command(tmp_path: Path) -> None:
    text = "```console\n$ echo one\nstale\n$ printf 'a\\nb\\n'\n```\n"
    path = _page(tmp_path, text)
    assert update_page(path) is True
    assert path.read_text() == "```console\n$ echo one\none\n$ printf 'a\\nb\\n'\na\nb\n```\n"
    assert update_page(path) is False


def test_commands_run_in_a_clean_home_without_keys(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-docs-123456")
    text = '```console\n$ echo "key=${OPENAI_API_KEY:-unset} home=$HOME"\n```\n'
    path = _page(tmp_path, text)
    update_page(path)
    assert "key=unset home=~" in path.read_text()


def test_background_commands_show_their_first_lines_and_stop(tmp_path: Path) -> None:
    text = (
        "```console\n"
        "$ python -c \"print('listening', flush=True); import time; time.sleep(60)\" &\n"
        "listening\n"
        "$ echo after\n"
        "after\n"
        "```\n"
    )
    assert check_page(_page(tmp_path, text)) == []


def test_indented_blocks_keep_their_indent(tmp_path: Path) -> None:
    text = "!!! note\n\n    ```console\n    $ echo in a note\n    ```\n"
    path = _page(tmp_path, text)
    update_page(path)
    assert (
        path.read_text()
        == "!!! note\n\n    ```console\n    $ echo in a note\n    in a note\n    ```\n"
    )


def test_normalise_masks_what_varies_and_nothing_else() -> None:
    run_a = [
        "simulator at http://127.0.0.1:41234 took 12 ms",
        "┏━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━┓",
        "┃ # ┃ latency ms ┃ cost        ┃",
        "┡━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━┩",
        "│ 1 │ 114        │ $0.00001065 │",
        "└───┴────────────┴─────────────┘",
        "execution 81262c6c-1c4e-4c80-be01-34841c0303aa at 2026-11-25T23:34:20.746783+00:00",
    ]
    run_b = [
        "simulator at http://127.0.0.1:50001 took 7 ms",
        "┏━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓",
        "┃ # ┃ latency ms  ┃ cost        ┃",
        "┡━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━┩",
        "│ 1 │ 9           │ $0.00001065 │",
        "└───┴─────────────┴─────────────┘",
        "execution 00000000-1111-2222-3333-444444444444 at 2026-12-01T01:02:03+00:00",
    ]
    assert normalise(run_a) == normalise(run_b)
    dearer = [line.replace("$0.00001065", "$0.00002130") for line in run_b]
    assert normalise(run_a) != normalise(dearer)


def test_a_command_is_a_dataclass_with_its_place_in_the_page() -> None:
    command = Command("sleep 1 &", ["x"], line=3, output_start=4, output_end=5)
    assert command.background
    assert not Command("echo a & b", [], 0, 1, 1).background


def test_an_export_reads_the_readers_environment(tmp_path: Path) -> None:
    """A guide's ``export AUTERITY_AI_DATABASE_URL=sqlite:///$PWD/x.db`` names a file in the
    page's own working directory (the reader's), not the docs builder's."""
    text = (
        "```console\n$ export LEDGER=sqlite:///$PWD/scratch.db\n"
        '$ echo "$LEDGER"\nsqlite:///~/scratch.db\n```\n'
    )
    assert check_page(_page(tmp_path, text)) == []


CLAIMS = """\
```console
$ echo 'failed: stopped after 9 attempt(s): refuses refused the content'
failed: stopped after 9 attempt(s): refuses refused the content
```

The provider refused (attempt 9 of the first run). The step's message says
`{claim}`.

Elsewhere a health check says `not checked, since nothing points at a run here`.
"""


def test_a_claim_about_a_runs_message_must_be_what_it_printed(tmp_path: Path) -> None:
    wrong = _page(tmp_path, CLAIMS.format(claim="all candidate models failed"))
    assert check_page(wrong) == [
        f"{wrong}:6: the prose says a message reads `all candidate models failed`, but no "
        "command on the page printed that"
    ]
    right = _page(tmp_path, CLAIMS.format(claim="stopped after 9 attempt(s): ... the content"))
    assert check_page(right) == []


def test_a_background_command_leaves_nothing_running(tmp_path: Path) -> None:
    """Its first process may end at once (a pipeline, a port that was taken); what it
    started is stopped with the page all the same, and the page still runs."""
    import os
    import time

    from docgen.examples import run_page

    page = parse_page(_page(tmp_path, "```console\n$ sh -c 'sleep 300 & echo $!' &\n1\n```\n"))
    ((_, shown),) = run_page(page, tmp_path)
    pid = int(shown[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} outlived the page")
