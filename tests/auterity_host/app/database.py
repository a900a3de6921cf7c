"""Stands in for the host's SQLAlchemy session: workflows and executions in dictionaries."""

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

WORKFLOWS: Dict[uuid.UUID, Dict[str, Any]] = {}
EXECUTIONS: Dict[uuid.UUID, "WorkflowExecution"] = {}


@dataclass
class WorkflowExecution:
    """The host's execution row; like its UUID primary key, the id exists once it is added."""

    workflow_id: uuid.UUID
    input_data: Dict[str, Any]
    status: str = "pending"
    output_data: Optional[Dict[str, Any]] = None
    id: Optional[uuid.UUID] = None
    logs: List[Dict[str, Any]] = field(default_factory=list)


class Session:
    def add(self, row: Any) -> None:
        if isinstance(row, WorkflowExecution):
            row.id = row.id or uuid.uuid4()
            EXECUTIONS[row.id] = row

    def commit(self) -> None:
        pass


@contextmanager
def get_db_session():
    yield Session()
