"""The step JSON Schema, shipped in the wheel as ``auterity_ai_step._schemas``."""
