"""Shared test set-up: offline LiteLLM, isolated data directories."""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
