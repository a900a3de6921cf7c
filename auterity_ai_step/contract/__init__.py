"""The step contract: step schema and typed config, model policy, prompt templates.

Nothing here imports LiteLLM or SQL; submodules are imported directly
(``auterity_ai_step.contract.policy``, ``.step``, ``.templates``).
"""

from __future__ import annotations
