"""The Python API page, from the package's public names, signatures and docstrings.

The public surface is ``auterity_ai_step.__all__`` (pinned by a test); each name is shown
with its signature and docstring, classes with their public methods and properties, so the
page changes exactly when the code does.
"""

from __future__ import annotations

import enum
import inspect
import re
from typing import Any

import auterity_ai_step
from auterity_ai_step.core import host

from .md import code, fence, header, rst

__all__ = ["render"]

_GROUPS = (
    (
        "Running steps",
        ("AIStepExecutor", "execution_context", "WorkflowNode", "StepExecutionResult"),
    ),
    ("Step configs", ("StepConfig", "validate_step_config", "PromptTemplate", "DEFAULT_TEMPLATES")),
    ("Model policy", ("Policy", "PolicyStore", "load_policy")),
    (
        "The back-compatible AIService",
        ("AIService", "AIResponse", "AIModelType", "get_ai_service", "set_ai_service"),
    ),
    ("The original design's LiteLLMService", ("LiteLLMService", "ModelConfig", "ModelProvider")),
    (
        "Errors",
        (
            "AuterityAIError",
            "StepConfigError",
            "PolicyError",
            "TemplateError",
            "LimitExceeded",
            "ProviderError",
            "AIServiceError",
        ),
    ),
)
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")
_QUOTED_TYPE = re.compile(r"(: |-> )'([^']*)'")
_MODULE_PATH = re.compile(r"\b(?:[a-z_][a-z0-9_]*\.)+(?=[A-Za-z_]\w*)")
_WIDTH = 88


def _signature(obj: Any, name: str, *, drop_first: bool = False) -> str:
    """``name(params) -> result`` with plain type names, one parameter a line when long."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return name
    params = list(sig.parameters.values())[1 if drop_first else 0 :]
    sig = sig.replace(parameters=params)
    text = _MODULE_PATH.sub("", _QUOTED_TYPE.sub(r"\1\2", _ADDRESS.sub("", str(sig))))
    if len(name) + len(text) <= _WIDTH:
        return f"{name}{text}"
    result = text[text.rindex(")") + 1 :]
    parts = [
        _MODULE_PATH.sub("", _QUOTED_TYPE.sub(r"\1\2", _ADDRESS.sub("", str(p))))
        for p in sig.parameters.values()
    ]
    if any(p.kind is p.KEYWORD_ONLY for p in params) and not any(
        p.kind is p.VAR_POSITIONAL for p in params
    ):
        first_kw = next(i for i, p in enumerate(params) if p.kind is p.KEYWORD_ONLY)
        parts.insert(first_kw, "*")
    body = "".join(f"    {part},\n" for part in parts)
    return f"{name}(\n{body}){result}"


def _doc(obj: Any) -> str:
    doc = inspect.getdoc(obj)
    return rst(doc, "python") if doc else ""


def _members(cls: type) -> list[str]:
    """Public methods and properties defined by ``cls`` itself (not pydantic/dataclass)."""
    parts = []
    for name, value in vars(cls).items():
        if name.startswith(("_", "model_")):
            continue
        if isinstance(value, property):
            parts.append(f"#### `{cls.__name__}.{name}` (property)\n\n{_doc(value)}")
        elif inspect.isfunction(value) or isinstance(value, classmethod | staticmethod):
            func = value.__func__ if isinstance(value, classmethod | staticmethod) else value
            signature = _signature(func, name, drop_first=not isinstance(value, staticmethod))
            if inspect.iscoroutinefunction(func):
                signature = f"async {signature}"
            title = f"#### `{cls.__name__}.{name}`"
            parts.append(f"{title}\n\n{fence(signature, 'python')}\n{_doc(func)}")
    return parts


def _entry(name: str) -> str:
    obj = getattr(auterity_ai_step, name)
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        values = ", ".join(code(member.value) for member in obj)
        return f"### `{name}`\n\nAn enumeration: {values}.\n\n{_doc(obj)}"
    if inspect.isclass(obj):
        bases = [b.__name__.lstrip("_") for b in obj.__bases__ if b is not object]
        kind = f"class, a subclass of {', '.join(map(code, bases))}" if bases else "class"
        text = f"### `{name}`\n\n*{kind}*\n\n{fence(_signature(obj, name), 'python')}\n{_doc(obj)}"
        members = _members(obj)
        return text + ("\n" + "\n".join(members) if members else "")
    if callable(obj):
        return f"### `{name}`\n\n{fence(_signature(obj, name), 'python')}\n{_doc(obj)}"
    kind = type(obj).__name__
    keys = ", ".join(map(code, sorted(obj))) if isinstance(obj, dict) else ""
    return f"### `{name}`\n\n*{kind}*{': ' + keys if keys else ''}\n"


def render() -> str:
    """The whole page."""
    grouped = [name for _, names in _GROUPS for name in names]
    missing = sorted(set(auterity_ai_step.__all__) - set(grouped) - {"__version__"})
    if missing:
        raise ValueError(f"public names without a section in docgen/reference_python.py: {missing}")
    twins = "identical twins from `auterity_ai_step.core.host`"
    parts = [
        header("auterity_ai_step.__all__ (signatures and docstrings)", "Python API"),
        "Everything a host imports comes from the package root, for example "
        "`from auterity_ai_step import AIStepExecutor, execution_context`; other modules are "
        "internal and may change. Names load on first use, so importing the package is cheap.\n",
        f"Inside an Auterity process (`{host.HOST_MODULE}` importable) `WorkflowNode`, "
        f"`StepExecutionResult` and the executor's base class are the host's own; elsewhere "
        f"they are {twins}.\n"
        if hasattr(host, "HOST_MODULE")
        else f"Inside an Auterity process `WorkflowNode`, `StepExecutionResult` and the "
        f"executor's base class are the host's own; elsewhere they are {twins}.\n",
    ]
    for title, names in _GROUPS:
        parts.append(f"## {title}\n")
        if title == "Errors":
            parts.append(
                "The provider errors (`RateLimited`, `ProviderTimeout`, ...) are subclasses of "
                "`ProviderError` in `auterity_ai_step.errors`. What each error means and how "
                "to fix it: [Troubleshooting](../guides/troubleshooting.md).\n"
            )
        parts += [_entry(name) for name in names]
    return "\n".join(part.rstrip("\n") + "\n" for part in parts)
