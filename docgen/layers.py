"""The package's layers: which part may import which, read from the source itself.

One table, two readers: ``tests/test_layers.py`` fails on any import arrow outside it, and
the docs generator draws ``docs/developer/architecture.md``'s layer picture from it, so the
picture cannot drift from what the test enforces.

A *part* is a top-level package of ``auterity_ai_step`` (``core``, ``money``, ...) or a
module at its root (``errors``). Every import counts, lazy and type-only ones included: a
type-only import still couples the two parts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "auterity_ai_step"

KERNEL = frozenset({"errors", "settings", "resources", "extras", "loopback", "lazy", "nowait"})
"""Root modules every layer may use: the exception tree, settings, bundled files, extras,
loopback names, lazy re-exports, quick tries."""

DEPRECATED = {
    "executor": "core",
    "host": "core",
    "litellm_service": "service",
    "model_configs": "service",
}
"""Old import paths kept for hosts (thin re-exports with a DeprecationWarning) -> their part."""

LAYERS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "kernel",
        tuple(sorted(KERNEL)),
        "exceptions, settings, bundled files, extras, loopback, lazy re-exports, quick tries",
    ),
    ("contract", ("contract",), "pure: step schema, policy model and parsing, templates"),
    ("money", ("money",), "pure arithmetic: the price book, worst cases, limits"),
    ("routing", ("routing",), "candidates, the gateway (the only LiteLLM import), retry, health"),
    ("store", ("store",), "tables, the budget book, usage records, outbox, reports, migrations"),
    ("simulator", ("simulator",), "the loopback provider simulator, its scenarios and policy"),
    ("telemetry", ("telemetry",), "OpenTelemetry spans and metrics (API only), /metrics"),
    ("core", ("core",), "the engine, the plan, run types, the policy source, the executor"),
    ("faces", ("api", "cli", "service", "integrations"), "HTTP, command line, AIService, hosts"),
)
"""Lowest first: (layer, its parts, its job)."""

ALLOWED: dict[str, frozenset[str]] = {
    "kernel": frozenset({"kernel"}),
    "contract": frozenset({"kernel"}),
    "money": frozenset({"contract", "kernel"}),
    "routing": frozenset({"money", "contract", "kernel"}),
    "store": frozenset({"money", "contract", "kernel"}),
    "simulator": frozenset({"contract", "kernel"}),
    "telemetry": frozenset({"kernel"}),
    "core": frozenset({"telemetry", "routing", "store", "money", "contract", "kernel"}),
    "faces": frozenset({"core", "simulator", "telemetry", "kernel"}),
}
"""Layer -> the layers its parts may import (its own layer's parts are listed separately)."""

FACE_ARROWS = frozenset(
    {
        ("cli", "api"),  # `serve` mounts the router
        ("integrations", "service"),  # install_ai_service puts the AIService in the host
    }
)
"""Arrows between faces: one face built on another."""

READ_ONLY = frozenset(
    {
        "store.queries",  # the console's and the CLI's reports
        "store.locate",  # whether a SQLite ledger exists, asked without creating it
        "contract.step",  # the step schema a builder form renders and `validate` checks
        "contract.templates",  # rendering a prompt to show it (`render`)
        "contract.policy",  # policy types and reading a candidate file to show or check it
        "contract.policy_model",
        "money.prices",  # showing prices and costs
    }
)
"""Modules below the core a face may read directly: reports and pure, read-only views."""


def layer_of(part: str) -> str:
    """The layer a part belongs to; KeyError names a part no layer claims."""
    if part in DEPRECATED:
        return layer_of(DEPRECATED[part])
    for layer, parts, _ in LAYERS:
        if part in parts:
            return layer
    raise KeyError(f"part {part!r} is in no layer: add it to docgen/layers.py LAYERS")


@dataclass(frozen=True)
class Arrow:
    """One import: ``source`` (a file under the package) imports module ``target``."""

    source: str
    target: str

    @property
    def from_part(self) -> str:
        return _part(self.source.removesuffix(".py").replace("/", "."))

    @property
    def to_part(self) -> str:
        return _part(self.target)


def _part(dotted: str) -> str:
    """The part of a dotted module; "" for the package root (``__init__``, ``__main__``)."""
    head = dotted.split(".", 1)[0]
    return "" if head in ("__init__", "__main__") else head


_FROM = re.compile(r"^[ \t]*from[ \t]+(\.+)([\w.]*)[ \t]+import[ \t]+\(?([^)\n]*)", re.M)
_ABSOLUTE = re.compile(r"^[ \t]*(?:from|import)[ \t]+auterity_ai_step\.([\w.]+)", re.M)


def _modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name (relative to the package) -> file."""
    found = {}
    for path in package.rglob("*.py"):
        rel = path.relative_to(package).with_suffix("").as_posix().replace("/", ".")
        found[rel.removesuffix(".__init__") if rel != "__init__" else ""] = path
    return found


def arrows(package: Path = PACKAGE) -> Iterator[Arrow]:
    """Every import of one package module by another, relative or absolute.

    Regular expressions rather than ``ast``: CPython 3.11's ``ast.parse`` can fail late in a
    long test session (see tests/test_import_boundaries.py).
    """
    modules = _modules(package)
    for name, path in sorted(modules.items()):
        source = path.relative_to(package).as_posix()
        text = path.read_text("utf-8")
        here = name.split(".") if name else []
        if path.name != "__init__.py":
            here = here[:-1]
        for dots, rest, names in _FROM.findall(text):
            base = here[: len(here) - (len(dots) - 1)] if len(dots) > 1 else here
            target = ".".join([*base, *rest.split(".")] if rest else base)
            for imported in (n.strip().split(" ")[0] for n in names.split(",")):
                sub = f"{target}.{imported}" if target else imported
                if sub in modules:
                    yield Arrow(source, sub)
                elif target:
                    yield Arrow(source, target)
        for target in _ABSOLUTE.findall(text):
            yield Arrow(source, target)


def violations(package: Path = PACKAGE) -> list[str]:
    """Each import arrow outside the allowed set, as ``source -> target (from > to)``."""
    found = []
    for arrow in arrows(package):
        src, dst = arrow.from_part, arrow.to_part
        if src == dst or dst == "" or src == "":
            continue
        src_layer, dst_layer = layer_of(src), layer_of(dst)
        if src in DEPRECATED and dst == DEPRECATED[src]:
            continue
        if dst in DEPRECATED:
            found.append(f"{arrow.source} -> {arrow.target} (a deprecated path)")
            continue
        if src_layer == dst_layer and src_layer != "faces":
            continue
        if dst_layer in ALLOWED[src_layer] or (src, dst) in FACE_ARROWS:
            continue
        if src_layer == "faces" and _read_only(arrow.target):
            continue
        found.append(f"{arrow.source} -> {arrow.target} ({src_layer} > {dst_layer})")
    return sorted(set(found))


def _read_only(target: str) -> bool:
    return any(target == m or target.startswith(m + ".") for m in READ_ONLY)


def part_arrows(package: Path = PACKAGE) -> dict[tuple[str, str], int]:
    """(from part, to part) -> how many imports, across parts."""
    counts: dict[tuple[str, str], int] = {}
    for arrow in arrows(package):
        src, dst = arrow.from_part, arrow.to_part
        if src and dst and src != dst:
            counts[(src, dst)] = counts.get((src, dst), 0) + 1
    return counts


def cycles(package: Path = PACKAGE) -> list[list[str]]:
    """Groups of parts that import each other, directly or round a loop (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for src, dst in part_arrows(package):
        graph.setdefault(src, set()).add(dst)
        graph.setdefault(dst, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def picture() -> str:
    """The layer picture for the architecture page: the table, then the arrows it allows."""
    lines = [
        "| layer | parts | job | may import |",
        "|---|---|---|---|",
    ]
    for layer, parts, job in reversed(LAYERS):
        may = ", ".join(sorted(ALLOWED[layer] - {layer})) or "nothing"
        lines.append(f"| {layer} | {', '.join(f'`{p}`' for p in parts)} | {job} | {may} |")
    lines += [
        "",
        "Inside a layer its parts may import each other, except faces, where only these "
        "arrows are allowed: "
        + "; ".join(f"`{a}` → `{b}`" for a, b in sorted(FACE_ARROWS))
        + ". A face may also read these modules below the core directly (reports and pure, "
        "read-only views): " + ", ".join(f"`{m}`" for m in sorted(READ_ONLY)) + ".",
        "",
        "Deprecated import paths kept for hosts: "
        + ", ".join(f"`auterity_ai_step.{old}` (in `{new}/`)" for old, new in DEPRECATED.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


ARCHITECTURE_PAGE = PACKAGE.parent / "docs" / "developer" / "architecture.md"
_BEGIN = "<!-- layers:begin (generated by docgen from docgen/layers.py) -->"
_END = "<!-- layers:end -->"


def render_architecture() -> str:
    """The architecture page with its layer block regenerated from the table above."""
    text = ARCHITECTURE_PAGE.read_text("utf-8")
    head, _, rest = text.partition(_BEGIN)
    _, _, tail = rest.partition(_END)
    return f"{head}{_BEGIN}\n\n{picture()}\n{_END}{tail}"
