from otel_support import otel

__all__ = ["otel"]
