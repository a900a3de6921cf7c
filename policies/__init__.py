"""Model policies, shipped in the wheel as ``auterity_ai_step._policies``."""
