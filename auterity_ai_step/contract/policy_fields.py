"""Checks shared by every section of a policy: literal secrets, money, typed sections.

Each check appends ``path: reason`` lines to the caller's error list instead of raising,
so one PolicyError can list every problem of a document at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import is_secret_key
from .policy_format import HEALTH_KEY, MODEL_ALIASES
from .policy_model import ModelSpec

__all__ = ["build_section", "find_secrets", "money_value"]

# What the unknown-key error of a model entry lists after the ModelSpec fields.
_ALIAS_KEYS = (*(group[0] for group in MODEL_ALIASES), HEALTH_KEY)


def find_secrets(value: Any, path: str, errors: list[str]) -> None:
    """A line for every key that names a literal credential (``api_key``, ``token``, ...)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and is_secret_key(key):
                errors.append(
                    f"{sub}: a literal API key is not allowed in the policy; put the key in an "
                    "environment variable and name it with api_key_env "
                    "(e.g. api_key_env: OPENAI_API_KEY)"
                )
            else:
                find_secrets(item, sub, errors)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            find_secrets(item, f"{path}[{i}]", errors)


def money_value(value: Any, path: str, errors: list[str]) -> Decimal | None:
    """US dollars as an exact, finite, non-negative Decimal; None (and a line) if not."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        errors.append(f"{path}: must be a number of US dollars, e.g. 0.002")
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        errors.append(f"{path}: must be a number of US dollars, e.g. 0.002")
        return None
    if not amount.is_finite() or amount < 0:
        errors.append(f"{path}: must be >= 0 US dollars (got a negative or non-finite number)")
        return None
    return amount


def build_section(cls: type[BaseModel], data: Any, path: str, errors: list[str]) -> Any:
    """Construct a pydantic model, turning its errors into ``path.field: reason`` lines."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        errors.append(f"{path}: must be a mapping")
        return None
    try:
        return cls.model_validate(dict(data))
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False, include_context=False):
            loc = ".".join(str(part) for part in err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                allowed = ", ".join(k for k in cls.model_fields if k not in ("name", "version"))
                if cls is ModelSpec:
                    allowed += "; aliases: " + ", ".join(_ALIAS_KEYS)
                msg = f"unknown key (allowed: {allowed})"
            errors.append(f"{path}.{loc}: {msg}")
        return None
