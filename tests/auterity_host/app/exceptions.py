"""As app/exceptions.py at dbfb398: BaseAppException and the AI service error."""

from enum import Enum
from typing import Any, Dict, Optional


class ErrorCategory(str, Enum):
    WORKFLOW = "workflow"
    AI_SERVICE = "ai_service"
    SYSTEM = "system"


class ErrorSeverity(str, Enum):
    MEDIUM = "medium"
    HIGH = "high"


class BaseAppException(Exception):
    def __init__(
        self,
        message: str,
        code: str,
        category: ErrorCategory = ErrorCategory.SYSTEM,
        severity: ErrorSeverity = ErrorSeverity.MEDIUM,
        details: Optional[Dict[str, Any]] = None,
        retryable: bool = False,
        user_message: Optional[str] = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.category = category
        self.severity = severity
        self.details = details or {}
        self.retryable = retryable
        self.user_message = user_message or "An unexpected error occurred."


class WorkflowExecutionError(BaseAppException):
    def __init__(self, message: str = "Workflow execution failed", **kwargs):
        super().__init__(
            message=message,
            code="WORKFLOW_EXECUTION_ERROR",
            category=ErrorCategory.WORKFLOW,
            severity=ErrorSeverity.HIGH,
            **kwargs,
        )


class AIServiceError(BaseAppException):
    """AI service integration errors."""

    def __init__(self, message: str = "AI service error", **kwargs):
        super().__init__(
            message=message,
            code="AI_SERVICE_ERROR",
            category=ErrorCategory.AI_SERVICE,
            severity=ErrorSeverity.MEDIUM,
            retryable=True,
            **kwargs,
        )
