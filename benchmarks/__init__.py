"""Benchmarks for auterity-ai-step: ``python -m benchmarks.run [--quick] [--only NAME]``."""
