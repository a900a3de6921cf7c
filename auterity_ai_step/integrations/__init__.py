"""Wiring into host engines that cannot be changed; one module per host."""
