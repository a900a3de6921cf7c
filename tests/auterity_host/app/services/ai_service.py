"""The parts of app/services/ai_service.py at dbfb398 that a switch touches."""

from enum import Enum
from typing import Optional

from app.exceptions import AIServiceError  # noqa: F401  (the host module re-exports it)


class AIModelType(Enum):
    GPT_3_5_TURBO = "gpt-3.5-turbo"
    GPT_4 = "gpt-4"
    GPT_4_TURBO = "gpt-4-turbo-preview"


_ai_service_instance: Optional[object] = None


def get_ai_service():
    global _ai_service_instance
    if _ai_service_instance is None:
        raise AIServiceError("OpenAI API key not provided")
    return _ai_service_instance


def set_ai_service(service) -> None:
    global _ai_service_instance
    _ai_service_instance = service
