"""Tokenizer ratios for the what-if estimate: only where LiteLLM has both tokenizers offline."""

from __future__ import annotations

from decimal import Decimal

import pytest

from auterity_ai_step.routing.gateway import tokenizer_family, tokenizer_ratio


@pytest.mark.parametrize(
    ("litellm_model", "provider", "family"),
    [
        ("openai/gpt-4o-mini", "", "openai"),
        ("gpt-4o", "azure", "openai"),
        ("anthropic/claude-haiku-4-5", "", "anthropic"),
        ("deepseek/deepseek-chat", "", "deepseek"),
        # LiteLLM would count these with tiktoken as a stand-in: no real tokenizer, no family.
        ("ollama_chat/llama3.1", "", None),
        ("cohere_chat/command-r-08-2024", "", None),
        ("huggingface/meta-llama/Llama-3.1-8B-Instruct", "", None),
    ],
)
def test_family_only_where_litellm_has_the_tokenizer(
    litellm_model: str, provider: str, family: str | None
) -> None:
    assert tokenizer_family(litellm_model, provider) == family


def test_ratio_of_two_known_tokenizers_is_measured_and_inverse() -> None:
    there = tokenizer_ratio("openai", "anthropic")
    back = tokenizer_ratio("anthropic", "openai")
    assert there is not None and back is not None
    assert there > 0 and there != 1  # two different tokenizers count the sample differently
    assert (there * back).quantize(Decimal("0.000001")) == 1


def test_no_ratio_without_both_tokenizers() -> None:
    assert tokenizer_ratio("openai", None) is None
    assert tokenizer_ratio(None, "anthropic") is None
    assert tokenizer_ratio("openai", "openai") == 1
