"""As app/types/workflow.py at dbfb398."""

from dataclasses import dataclass
from typing import Any, Dict, List, Optional


@dataclass
class WorkflowNode:
    id: str
    type: str
    data: Dict[str, Any]
    position: Optional[Dict[str, float]] = None


@dataclass
class WorkflowEdge:
    id: str
    source: str
    target: str
    type: Optional[str] = None


@dataclass
class StepExecutionResult:
    success: bool
    output_data: Dict[str, Any]
    error_message: Optional[str] = None
    duration_ms: Optional[int] = None


@dataclass
class RetryConfig:
    max_attempts: int = 3
    delay_seconds: float = 1.0
    backoff_multiplier: float = 2.0
    retryable_errors: Optional[List[str]] = None
