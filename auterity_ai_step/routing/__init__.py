"""Routing: candidate chains, the LiteLLM gateway, retries and model health."""
