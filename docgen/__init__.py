"""Generators for the docs site's reference pages, so they never drift from the code."""
