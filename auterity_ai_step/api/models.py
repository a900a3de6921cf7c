"""The model management API's request and response bodies (pydantic only, no FastAPI).

Money is a non-negative decimal string of US dollars (``"0.00015"``), never a float, so no
rounding creeps in between the ledger and a dashboard; a percentage is a decimal string from
0 to 100 (``"80"``); times are ISO 8601 in UTC. Nothing here can hold a secret: the
config view names the environment variable a model reads its key from and says whether it
is set, never its value.
"""

from __future__ import annotations

from .fields import Preference, money
from .models_catalog import (
    AvailableModel,
    AvailableModels,
    HealthCheckRequest,
    HealthCheckResult,
    RankedEntry,
    Recommendations,
)
from .models_config import (
    ConfigErrors,
    ConfigModel,
    ConfigRejected,
    ConfigView,
    ErrorMessage,
    UnknownModel,
    UnknownModelDetail,
)
from .models_usage import (
    BudgetFigures,
    DayUsage,
    ExecutionUsage,
    ModelUsageTotals,
    UsageReport,
    UsageRow,
)

__all__ = [
    "AvailableModel",
    "AvailableModels",
    "BudgetFigures",
    "ConfigErrors",
    "ConfigModel",
    "ConfigRejected",
    "ConfigView",
    "DayUsage",
    "ErrorMessage",
    "ExecutionUsage",
    "HealthCheckRequest",
    "HealthCheckResult",
    "ModelUsageTotals",
    "Preference",
    "RankedEntry",
    "Recommendations",
    "UnknownModel",
    "UnknownModelDetail",
    "UsageReport",
    "UsageRow",
    "money",
]
