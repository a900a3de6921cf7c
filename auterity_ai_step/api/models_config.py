"""The configuration bodies, and the error bodies every route may answer with (pydantic
only). Nothing here can hold a secret: the config view names the environment variable a
model reads its key from and says whether it is set, never its value.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .fields import (
    Body,
    ModelName,
    PolicyVersion,
    ProviderName,
)

__all__ = [
    "ConfigErrors",
    "ConfigModel",
    "ConfigRejected",
    "ConfigView",
    "ErrorMessage",
    "UnknownModel",
    "UnknownModelDetail",
]


class ConfigModel(Body):
    """One live model: where its settings come from and which key variable it reads."""

    name: ModelName
    provider: ProviderName
    source: Literal["file", "override", "file+override"] = Field(
        description="Where the settings come from: file (the policy file only), override (a "
        "model added in the database), file+override (a file model with database settings "
        "over it)"
    )
    api_key_env: str | None = Field(
        description="NAME of the environment variable the model reads its API key from, "
        "never the key; null when the model sends no key (e.g. a local Ollama model)",
        examples=["OPENAI_API_KEY"],
    )
    api_key_set: bool = Field(
        description="Whether that variable is set and not empty in the server's environment "
        "(never its value); false when api_key_env is null"
    )


class ConfigView(Body):
    """The dynamic model configurations and, per live model, its key variable."""

    policy_version: PolicyVersion
    policy_source: str = Field(
        description="Where the live policy was read from: the policy file's path, or "
        "<memory> for a policy not read from a file",
        examples=["/etc/auterity/model_policies.yml"],
    )
    overrides: dict[str, dict[str, Any]] = Field(
        description="The dynamic model configurations stored in the database: model name to "
        "settings in the policy file's model form (secret-named keys left out)"
    )
    models: list[ConfigModel] = Field(description="Every model of the live policy")
    last_refused: str | None = Field(
        description="Why the latest policy change (file edit or stored configurations) was "
        "refused, the previous policy staying live; null when the latest change loaded"
    )


class ErrorMessage(Body):
    """The body of a 400, 401, 403, 409 or 503."""

    detail: str = Field(description="What went wrong and what to do (secrets redacted)")


class UnknownModelDetail(Body):
    """The model name that was not found, and the ones that exist."""

    message: str = Field(
        description="The unknown name and the known ones, in words",
        examples=["unknown model 'gpt-5' (known: gpt-4o-mini, gpt-4o)"],
    )
    known_models: list[str] = Field(
        description="Every model name of the live policy, in the policy's order",
        examples=[["gpt-4o-mini", "gpt-4o"]],
    )


class UnknownModel(Body):
    """The body of a 404 for a model the policy does not know."""

    detail: UnknownModelDetail = Field(description="The unknown name and the known ones")


class ConfigErrors(Body):
    """Why a model configuration was refused."""

    message: str = Field(
        description="Always this text: nothing was written",
        examples=["invalid model configuration; nothing was changed"],
    )
    errors: list[str] = Field(
        description="One line per problem: the setting's path (models.… for a model in the "
        "policy file, overrides.… for a new one), the reason and the fix; secrets redacted",
        examples=[["overrides.x.provider: missing; name the provider (openai, anthropic, ...)"]],
    )


class ConfigRejected(Body):
    """The body of a 422 for a refused model configuration."""

    detail: ConfigErrors = Field(description="The refusal and each error")
