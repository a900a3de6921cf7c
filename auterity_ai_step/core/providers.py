"""Loading the provider layer ahead of the first call.

LiteLLM is imported lazily (about 3 s) and a model's tokenizer loads on first use; a face
that times its work (the CLI's ``run`` and ``health``) loads both first, under its own
status line, so no step or health check counts the wait.
"""

from __future__ import annotations

import asyncio

from ..contract.policy_model import ModelSpec
from ..routing import gateway

__all__ = ["load_providers"]


def load_providers(tokenizer_for: ModelSpec | None = None) -> None:
    """Import LiteLLM now; with ``tokenizer_for``, load that model's tokenizer too."""
    asyncio.run(gateway.preload())
    if tokenizer_for is not None:
        gateway.count_tokens(tokenizer_for, [{"role": "user", "content": "warm up"}])
