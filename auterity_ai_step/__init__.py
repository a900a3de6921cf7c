"""auterity-ai-step: a multi-model AI step for the Auterity workflow engine."""

from __future__ import annotations

__all__: list[str] = []
