"""What stored model configurations may reach: key variables and API bases the operator allows.

A model configuration stored in the database (``PUT /api/models/config``, or a row of
``model_configurations`` written by other means) is less trusted than the policy file: an
admin token, or write access to the table, must not be enough to send the server's
environment to a host of their choosing. So a model a stored configuration adds or changes
may only read a key variable (``api_key_env``) that the file's own models read, or one the
operator lists in ``AUTERITY_AI_ALLOWED_KEY_ENVS``; and may only call an ``api_base`` that a
file model uses, or one at or below a URL listed in ``AUTERITY_AI_ALLOWED_API_BASES``. A key
the file reads goes only where the file sends it (the same base, or the same provider's
default endpoint), unless the operator listed the base. Every ``api_base``, in the file
too, must be an http:// or https:// URL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from urllib.parse import urlsplit

from ..settings import ALLOWED_API_BASES_ENV, ALLOWED_KEY_ENVS_ENV
from .policy_model import ModelSpec

__all__ = ["check_api_base_schemes", "check_stored_reach"]

_SCHEMES = ("http", "https")


def _parts(url: str) -> tuple[str, str, int | None, str] | None:
    try:
        split = urlsplit(url.strip())
        port = split.port
    except ValueError:
        return None
    if split.scheme.lower() not in _SCHEMES or not split.hostname:
        return None
    path = split.path.rstrip("/")
    return split.scheme.lower(), split.hostname.lower(), port, path


def _under(url: str, allowed: str) -> bool:
    """``url`` is ``allowed`` or a path below it (same scheme, host and port)."""
    got, root = _parts(url), _parts(allowed)
    if got is None or root is None or got[:3] != root[:3]:
        return False
    return got[3] == root[3] or got[3].startswith(root[3] + "/")


def _destination(spec: ModelSpec) -> str:
    """Where the model's key goes: its api_base, else its LiteLLM provider's default."""
    if spec.api_base:
        return spec.api_base.rstrip("/")
    prefix, sep, _ = spec.litellm_model.partition("/")
    return f"the {prefix if sep else spec.provider} default endpoint"


def check_api_base_schemes(
    models: Mapping[str, ModelSpec], paths: Mapping[str, str], errors: list[str]
) -> None:
    """Every api_base must be an http(s) URL with a host."""
    for name, spec in models.items():
        if spec.api_base is not None and _parts(spec.api_base) is None:
            scheme = urlsplit(spec.api_base).scheme or "none"
            errors.append(
                f"{paths.get(name, 'models.' + name)}.api_base: must be an http:// or "
                f"https:// URL with a host (the scheme is {scheme!r}); e.g. "
                "https://api.example.com/v1"
            )


def check_stored_reach(
    file_models: Mapping[str, ModelSpec],
    models: Mapping[str, ModelSpec],
    stored: Iterable[str],
    *,
    key_envs: Collection[str],
    api_bases: Collection[str],
    errors: list[str],
) -> None:
    """Refuse a stored model whose key variable or API base the operator has not allowed.

    ``stored`` names the models a stored configuration adds or changes; ``key_envs`` and
    ``api_bases`` are the operator's allow-lists on top of the file's own.
    """
    file_envs = {m.api_key_env for m in file_models.values() if m.api_key_env}
    file_bases = {m.api_base for m in file_models.values() if m.api_base}
    file_routes = {(m.api_key_env, _destination(m)) for m in file_models.values()}
    for name in stored:
        spec = models.get(name)
        if spec is None:
            continue
        env = spec.api_key_env
        if env and env not in file_envs and env not in key_envs:
            known = ", ".join(sorted(file_envs | set(key_envs))) or "none"
            errors.append(
                f"overrides.{name}.api_key_env: {env} is not a key variable stored "
                f"configurations may use (allowed: {known}); use one of those, or have the "
                f"operator add it to {ALLOWED_KEY_ENVS_ENV} (serve --allow-key-env)"
            )
        base = spec.api_base
        allowed = (*file_bases, *api_bases)
        if base and _parts(base) is not None and not any(_under(base, b) for b in allowed):
            errors.append(
                f"overrides.{name}.api_base: {base} is not an API base stored "
                "configurations may call (allowed: the policy file's own api_base "
                f"values and {ALLOWED_API_BASES_ENV}); use one of those, or have the "
                f"operator add it to {ALLOWED_API_BASES_ENV} (serve --allow-api-base)"
            )
            continue
        operator_base = base is not None and any(_under(base, b) for b in api_bases)
        if (
            env in file_envs
            and env not in key_envs
            and not operator_base
            and (env, _destination(spec)) not in file_routes
        ):
            errors.append(
                f"overrides.{name}: its key variable {env} would be sent to "
                f"{_destination(spec)}, where no model of the policy file sends it; keep the "
                f"api_base (or provider) the file uses with {env}, or have the operator add "
                f"the base to {ALLOWED_API_BASES_ENV} (serve --allow-api-base)"
            )
