"""Executable examples: the docs' console blocks are run, and their output is real.

A page is read top to bottom, in a fresh working directory that plays the reader's home:

* a fenced block with a ``title="path"`` (``yaml title="step.yml"``) is a file the reader
  saves: it is written to that path before the commands below it run;
* a ``console`` block holds commands (``$ ...``, ``\\`` continues a line) each followed by
  its output; every command runs with ``bash -c`` in the working directory, stderr merged
  into stdout. ``export NAME=VALUE`` sets a variable for the commands after it; a command
  ending in ``&`` runs in the background until the page ends (its first output lines are
  the ones shown). Blocks in other languages (``bash``, ``python``...) are shown, never run;
* ``<!-- docgen: env NAME=VALUE -->`` sets a variable the reader is assumed to have set
  already (``{postgres_url}`` is filled in by the caller).

``update_page`` rewrites each command's output with what it printed; ``check_page`` runs
them again and compares after :func:`normalise` masks what legitimately varies between runs
(ports, ids, latencies, dates, column widths). Nothing else may differ, so a guide cannot
drift from the code.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .warm_cli import WarmCLI

__all__ = [
    "Command",
    "EnvStep",
    "FileStep",
    "Page",
    "check_page",
    "claim_problems",
    "example_pages",
    "normalise",
    "parse_page",
    "prose_claims",
    "run_page",
    "update_page",
    "warm_cli",
]

COMMAND_TIMEOUT_S = 180.0
HOME_SHOWN = "~"  # the working directory is the reader's home in printed output
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')
_DIRECTIVE = re.compile(
    r"^\s*<!--\s*docgen:\s*env\s+(?P<name>[A-Za-z_]\w*)=(?P<value>.*?)\s*-->\s*$"
)
_SECRET_ENV = re.compile(r"(?i)(api_key|token|secret|password|database_url|^AUTERITY_)")


@dataclass
class Command:
    """One ``$ command`` of a console block and the output lines shown under it."""

    text: str
    expected: list[str]
    line: int  # 0-based index of the ``$`` line in the page
    output_start: int  # page line where the output begins
    output_end: int  # page line after the output
    indent: str = ""

    @property
    def background(self) -> bool:
        return self.text.rstrip().endswith("&")


@dataclass
class FileStep:
    """A file the reader saves (a fenced block with ``title="path"``)."""

    path: str
    content: str


@dataclass
class EnvStep:
    """A variable the reader has set (``<!-- docgen: env NAME=VALUE -->``)."""

    name: str
    value: str


@dataclass
class Page:
    """A parsed page: its lines and the steps (files, env, commands) in reading order."""

    path: Path
    lines: list[str]
    steps: list[FileStep | EnvStep | Command] = field(default_factory=list)

    @property
    def commands(self) -> list[Command]:
        return [step for step in self.steps if isinstance(step, Command)]

    @property
    def needs(self) -> set[str]:
        """The caller-supplied variables (``{postgres_url}``...) its env directives use."""
        return {
            name
            for step in self.steps
            if isinstance(step, EnvStep)
            for name in re.findall(r"\{(\w+)\}", step.value)
        } - {"workdir"}


def parse_page(path: Path) -> Page:
    """Split a Markdown page into files to write, env directives and commands to run."""
    lines = path.read_text(encoding="utf-8").splitlines()
    page = Page(path, lines)
    i = 0
    while i < len(lines):
        directive = _DIRECTIVE.match(lines[i])
        if directive:
            page.steps.append(EnvStep(directive["name"], directive["value"]))
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"].strip()
        end = i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        body = [_dedent(line, indent) for line in lines[i + 1 : end]]
        language = info.split()[0] if info else ""
        title = _TITLE.search(info)
        if title:
            page.steps.append(FileStep(title["title"], "\n".join(body) + "\n"))
        elif language == "console":
            page.steps += list(_commands(body, i + 1, indent))
        i = end + 1
    return page


def _dedent(line: str, indent: str) -> str:
    return line[len(indent) :] if line.startswith(indent) else line.lstrip()


def _commands(body: list[str], first: int, indent: str) -> Iterator[Command]:
    """Commands of a console block; ``first`` is the page line of the block's first line."""
    j = 0
    while j < len(body):
        if not body[j].startswith("$ "):
            raise ValueError(f"line {first + j + 1}: a console block starts with '$ command'")
        start = j
        text = body[j][2:]
        while text.endswith("\\") and j + 1 < len(body):
            j += 1
            text = text[:-1].rstrip() + " " + body[j].strip()
        j += 1
        out_start = j
        while j < len(body) and not body[j].startswith("$ "):
            j += 1
        yield Command(text, body[out_start:j], first + start, first + out_start, first + j, indent)


def _reader_env(workdir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """A clean environment: no provider keys, no settings of ours, home = the workdir."""
    env = {k: v for k, v in os.environ.items() if not _SECRET_ENV.search(k)}
    env.pop("VIRTUAL_ENV", None)
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        HOME=str(workdir),
        PWD=str(workdir),
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        NO_COLOR="1",
        TERM="dumb",
        PYTHONDONTWRITEBYTECODE="1",
    )
    for key in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "COLUMNS"):
        env.pop(key, None)
    env.update(extra)
    return env


class _Background:
    """A command left running until the page ends; its output is read line by line."""

    def __init__(self, text: str, cwd: Path, env: Mapping[str, str]) -> None:
        self.proc = subprocess.Popen(
            ["bash", "-c", "exec " + text.rstrip().rstrip("&").strip()],
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def first_lines(self, count: int, timeout_s: float = 60.0) -> list[str]:
        deadline = time.monotonic() + timeout_s
        out: list[str] = []
        while len(out) < count and time.monotonic() < deadline:
            try:
                out.append(self.lines.get(timeout=0.1))
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
        return out

    def stop(self) -> None:
        """Interrupt the whole process group, then kill what is left of it. The command's
        first process may have ended already (a pipeline, a port that was taken) while
        others of its group still run: none may outlive the page."""
        for sig in (signal.SIGINT, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break  # the whole group has ended
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                continue


def run_page(
    page: Page,
    workdir: Path,
    variables: Mapping[str, str] | None = None,
    *,
    warm: WarmCLI | None = None,
) -> list[tuple[Command, list[str]]]:
    """Run a page's steps in ``workdir``; each command with the lines it printed.

    With ``warm`` (a started :class:`~docgen.warm_cli.WarmCLI`), ``auterity-ai-step``
    commands run in processes forked from a server that has the imports done."""
    fill = {"postgres_url": "", "workdir": str(workdir), **(variables or {})}
    env = _reader_env(workdir, {})
    if warm is not None:
        env["PATH"] = f"{warm.bin_dir}{os.pathsep}{env['PATH']}"
    results: list[tuple[Command, list[str]]] = []
    background: list[_Background] = []
    try:
        for step in page.steps:
            if isinstance(step, EnvStep):
                env[step.name] = step.value.format(**fill)
            elif isinstance(step, FileStep):
                target = (workdir / step.path).resolve()
                if workdir.resolve() not in target.parents:
                    raise ValueError(f"{page.path}: file {step.path!r} leaves the working dir")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(step.content, encoding="utf-8")
            else:
                results.append((step, _run(step, workdir, env, background)))
    finally:
        for job in background:
            job.stop()
    return results


def _run(
    command: Command, workdir: Path, env: dict[str, str], jobs: list[_Background]
) -> list[str]:
    text = command.text.strip()
    export = re.fullmatch(r"export\s+([A-Za-z_]\w*)=(.*)", text, re.S)
    if export:
        value = " ".join(shlex.split(export[2]))
        env[export[1]] = _expand(value, env) if "$" in value else value
        return []
    if command.background:
        job = _Background(text, workdir, env)
        jobs.append(job)
        return _shown(job.first_lines(max(1, len(command.expected))), workdir)
    done = subprocess.run(
        ["bash", "-c", text],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    return _shown(done.stdout.splitlines(), workdir)


def _expand(value: str, env: Mapping[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` from the reader's environment (``$PWD`` is the workdir)."""
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", lambda m: env.get(m[1] or m[2], ""), value)


def _shown(lines: list[str], workdir: Path) -> list[str]:
    """Output as the page shows it: the working directory as ``~``, no trailing blanks."""
    home = str(workdir)
    shown = [line.replace(home, HOME_SHOWN).rstrip() for line in lines]
    while shown and not shown[-1]:
        shown.pop()
    return shown


# --- comparison -------------------------------------------------------------------------

_MASKS = (
    (re.compile(r"(127\.0\.0\.1|localhost):\d{2,5}"), r"\1:<port>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\b(demo|exec)-[0-9a-f]{12}\b"), r"\1-<id>"),
    (
        re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?)?"),
        "<date>",
    ),
    (re.compile(r"\b\d+(\.\d+)? ?(ms|s)\b"), r"<n> \2"),
    (re.compile(r'"(\w*(latency|duration|_at|checked|elapsed)\w*)": [^,}\n]+'), r'"\1": <v>'),
    (re.compile(r"\bpid \d+"), "pid <n>"),
)
_TABLE_RULE = re.compile(r"^[\s┏┓┗┛┡┩└┘┌┐├┤┬┴┼╇╈┳┻━─═╭╮╰╯]+$")
_TABLE_ROW = re.compile(r"^\s*[│┃║]")
_VOLATILE_COLUMN = re.compile(r"(?i)latency|duration|\bms\b|checked|time")


def normalise(lines: list[str]) -> list[str]:
    """Mask run-to-run variation so only real differences remain."""
    out: list[str] = []
    header: list[str] | None = None
    volatile: set[int] = set()
    in_table = False
    for raw in lines:
        line = raw.rstrip()
        if _TABLE_RULE.match(line) and line.strip():
            if line.strip()[0] in "┏┌╭":
                in_table, header, volatile = True, None, set()
            elif line.strip()[0] in "└┗╰":
                in_table = False
            continue
        if in_table and _TABLE_ROW.match(line):
            cells = [c.strip() for c in re.split(r"[│┃║]", line.strip())[1:-1]]
            if header is None:
                header = cells
                volatile = {i for i, c in enumerate(cells) if _VOLATILE_COLUMN.search(c)}
            else:
                cells = ["<v>" if i in volatile and c else c for i, c in enumerate(cells)]
            line = "| " + " | ".join(cells) + " |"
        for pattern, replacement in _MASKS:
            line = pattern.sub(replacement, line)
        out.append(re.sub(r"[ \t]+", " ", line).strip())
    while out and not out[-1]:
        out.pop()
    return out


# --- pages --------------------------------------------------------------------------------


def example_pages(docs_dir: Path) -> list[Path]:
    """Every page with at least one command to run."""
    return [path for path in sorted(docs_dir.rglob("*.md")) if parse_page(path).commands]


def _workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="docgen-")


def warm_cli() -> WarmCLI:
    """A started warm CLI server for :func:`check_page` / :func:`update_page` (close it)."""
    warm = WarmCLI()
    with _workdir() as tmp:
        warm.start(_reader_env(Path(tmp), {}))
    return warm


def update_page(
    path: Path, variables: Mapping[str, str] | None = None, *, warm: WarmCLI | None = None
) -> bool:
    """Re-run the page and write each command's real output under it; True if changed."""
    page = parse_page(path)
    with _workdir() as tmp:
        results = run_page(page, Path(tmp), variables, warm=warm)
    lines = list(page.lines)
    for command, actual in sorted(results, key=lambda r: r[0].line, reverse=True):
        shown = [f"{command.indent}{line}" if line else "" for line in actual]
        lines[command.output_start : command.output_end] = shown
    text = "\n".join(lines) + "\n"
    changed = text != path.read_text(encoding="utf-8")
    if changed:
        path.write_text(text, encoding="utf-8")
    return changed


def check_page(
    path: Path, variables: Mapping[str, str] | None = None, *, warm: WarmCLI | None = None
) -> list[str]:
    """Run the page; one message per command whose output differs from the page's."""
    page = parse_page(path)
    with _workdir() as tmp:
        results = run_page(page, Path(tmp), variables, warm=warm)
    problems = []
    for command, actual in results:
        want, got = normalise(command.expected), normalise(actual)
        if want != got:
            diff = "\n".join(_diff(want, got))
            problems.append(
                f"{path}:{command.line + 1}: `$ {command.text.strip()}` printed something else "
                f"(run .venv/bin/python -m docgen to refresh):\n{diff}"
            )
    return problems + claim_problems(page, [actual for _, actual in results])


# --- prose claims about messages ---------------------------------------------------------

# "the step's message still says `...`": a message quoted as what a command printed. Only
# claims in a paragraph that points at one of the page's own runs ("attempt 9 of the second
# run", "the output above") are checked; "..." and <name> in a claim stand for any text.
_CLAIM = re.compile(
    r"\b(?:message|output|it|step|command)\s+(?:still\s+|then\s+|now\s+)?"
    r"(?:says|reads|prints|is)(?:\s+so)?:?\s+`([^`]{6,})`"
)
_POINTS_AT_A_RUN = re.compile(
    r"(?i)\bof the (?:first|second|third|fourth|fifth|last) run\b|\b(?:above|below)\b"
)
_WILDCARD = re.compile(r"\.\.\.|<[^<>`]+>")


def prose_claims(page: Page) -> list[tuple[int, str]]:
    """(1-based line, quoted message) of each checkable claim in the page's prose."""
    claims: list[tuple[int, str]] = []
    paragraph: list[str] = []
    start = 0
    fenced = False
    for number, line in enumerate([*page.lines, ""], start=1):
        if _FENCE.match(line):
            fenced = not fenced
        if fenced or _FENCE.match(line) or not line.strip():
            text = " ".join(" ".join(paragraph).split())
            if _POINTS_AT_A_RUN.search(text):
                claims += [(start, m[1]) for m in _CLAIM.finditer(text)]
            paragraph = []
            continue
        if not paragraph:
            start = number
        paragraph.append(line)
    return claims


def claim_problems(page: Page, outputs: list[list[str]]) -> list[str]:
    """One message per prose claim about a message that no command on the page printed."""
    printed = "\n".join(" ".join(normalise(lines)) for lines in outputs)
    problems = []
    for line, claim in prose_claims(page):
        shown = " ".join(normalise([claim]))
        pattern = ".*?".join(re.escape(part.strip()) for part in _WILDCARD.split(shown))
        if not re.search(pattern, printed):
            problems.append(
                f"{page.path}:{line}: the prose says a message reads `{claim}`, but no command "
                "on the page printed that"
            )
    return problems


def _diff(want: list[str], got: list[str]) -> Iterator[str]:
    import difflib

    yield from difflib.unified_diff(want, got, "page", "actual", lineterm="", n=1)
