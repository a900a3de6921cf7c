"""Auterity, wired in with one call per executor stack and no change to its code.

Auterity (``app``) runs steps through two stacks, and neither passes an execution id:

- ``install_workflow_engine()``: ``app.services.workflow_engine.WorkflowEngine``, whose
  steps are ``execute_step(node, input_data)`` and whose factories are per engine (built by
  ``_create_default_factory`` or ``app.config.workflow_config.create_workflow_engine``).
  Every engine created afterwards gets the executor for ``"ai"``, and every step runs
  inside ``execution_context(execution.id)``: the id the engine creates in its own run.
- ``install_execution_engine()``: ``app.services.workflow_execution_engine``, whose steps
  are ``execute(input_data, context)`` from a class-level factory keyed by ``StepType``.
  The AI class registered there records against ``context["workflow_id"]``, the id that
  engine keys a run by (a definition without one gets one new id per run).
- ``install_ai_service()``: the host's own ``get_ai_service()`` returns this package's
  ``AIService``, for host code that calls the service directly.

Each call returns an :class:`Installation` whose ``uninstall()`` puts the host back as it
was. Calling again replaces the earlier installation of that stack.

Both engines retry a failed step by calling the executor again with the same execution id
and node id. A failed step runs again (and calls providers again); a step that already
succeeded in that execution, with the same config and input, answers from the ledger
instead (see :mod:`auterity_ai_step.core.replay`), so a resumed execution pays once per step.
"""

from __future__ import annotations

import functools
import importlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.executor import AIStepExecutor, current_execution_id, execution_context
from ..core.host import WorkflowNode

if TYPE_CHECKING:
    from ..service.ai_service import AIService

__all__ = [
    "Installation",
    "install_ai_service",
    "install_execution_engine",
    "install_workflow_engine",
]

_STEP_TYPE = "ai"
_INPUT_KEYS_NOT_CONFIG = ("data", "dependency_results")


@dataclass
class Installation:
    """What one ``install_*`` call changed in the host, and how to undo it."""

    stack: str
    executor: AIStepExecutor
    _undo: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def uninstall(self) -> None:
        """Restore the host's own methods and registrations (last change first)."""
        while self._undo:
            self._undo.pop()()
        _installed.pop(self.stack, None)


_installed: dict[str, Installation] = {}


def _host(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise RuntimeError(
            f"Auterity's {module} is not importable: call this inside the Auterity backend "
            "(its directory on sys.path)"
        ) from exc


def _patch(installation: Installation, owner: type, name: str, replacement: Any) -> None:
    """Set ``owner.name``; undoing restores the class's own attribute or removes ours."""
    own = name in owner.__dict__
    original = owner.__dict__.get(name)

    def undo() -> None:
        if own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)

    setattr(owner, name, replacement)
    installation._undo.append(undo)


def _fresh(stack: str, executor: AIStepExecutor | None) -> Installation:
    earlier = _installed.get(stack)
    if earlier is not None:
        earlier.uninstall()
    installation = Installation(stack, executor or AIStepExecutor())
    _installed[stack] = installation
    return installation


def install_workflow_engine(executor: AIStepExecutor | None = None) -> Installation:
    """Make every ``WorkflowEngine`` run ``"ai"`` nodes here, under its own execution id.

    Call once at start-up, before engines are created (an engine built earlier keeps the
    executor it has). ``executor`` defaults to ``AIStepExecutor()`` (policy and ledger
    from the environment) and is shared by every engine.
    """
    engine_cls = _host("app.services.workflow_engine").WorkflowEngine
    installation = _fresh("workflow_engine", executor)
    shared = installation.executor
    host_init = engine_cls.__init__
    host_step = engine_cls._execute_step

    @functools.wraps(host_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        host_init(self, *args, **kwargs)
        self.step_factory.register_executor(_STEP_TYPE, shared)

    @functools.wraps(host_step)
    async def _execute_step(self: Any, db: Any, execution: Any, *args: Any, **kwargs: Any) -> Any:
        execution_id = getattr(execution, "id", None)
        if execution_id is None:
            return await host_step(self, db, execution, *args, **kwargs)
        with execution_context(str(execution_id)):
            return await host_step(self, db, execution, *args, **kwargs)

    _patch(installation, engine_cls, "__init__", __init__)
    _patch(installation, engine_cls, "_execute_step", _execute_step)
    return installation


def install_execution_engine(executor: AIStepExecutor | None = None) -> Installation:
    """Register the AI step with the ``StepType``-keyed factory of the second stack.

    The step's ``input`` is its config (``prompt``, ``model``, ``config_version``...);
    ``input["data"]``, which the engine fills from the steps it depends on, is the step's
    input. ``context["step_id"]`` is the node id in the ledger.
    """
    base = _host("app.services.step_executors.base_executor")
    factory = _host("app.services.step_executors.factory").StepExecutorFactory
    engine_cls = _host("app.services.workflow_execution_engine").WorkflowExecutionEngine
    installation = _fresh("execution_engine", executor)
    adapter = _execution_engine_adapter(base, installation.executor)
    previous = factory._executors.get(base.StepType.AI)
    factory.register_executor(base.StepType.AI, adapter)

    def restore_factory() -> None:
        if previous is None:
            factory._executors.pop(base.StepType.AI, None)
        else:
            factory.register_executor(base.StepType.AI, previous)

    installation._undo.append(restore_factory)
    host_run = engine_cls.execute_workflow

    @functools.wraps(host_run)
    async def execute_workflow(self: Any, workflow_definition: Any, *args: Any, **kw: Any) -> Any:
        if current_execution_id() or _run_id_of(workflow_definition):
            return await host_run(self, workflow_definition, *args, **kw)
        with execution_context(str(uuid.uuid4())):  # one id for the whole run
            return await host_run(self, workflow_definition, *args, **kw)

    _patch(installation, engine_cls, "execute_workflow", execute_workflow)
    return installation


def _run_id_of(workflow_definition: Any) -> str | None:
    run_id = workflow_definition.get("id") if isinstance(workflow_definition, dict) else None
    return str(run_id) if run_id else None


def _execution_engine_adapter(base: Any, executor: AIStepExecutor) -> type:
    """A real subclass of the host's ``BaseStepExecutor`` the factory can instantiate."""

    class AIStepAdapter(base.BaseStepExecutor):  # type: ignore[misc]
        """``execute(input_data, context)`` in front of the shared ``AIStepExecutor``."""

        def __init__(self) -> None:
            super().__init__()
            self.step_type = base.StepType.AI
            self.executor = executor

        def validate_input(self, input_data: Any) -> bool:
            return isinstance(input_data, dict)

        async def execute(self, input_data: Any, context: Any) -> Any:
            if not self.validate_input(input_data):
                error = f"AI step failed: input must be a mapping, got {type(input_data).__name__}"
                return base.ExecutionResult(success=False, data={}, error=error)
            context = context if isinstance(context, dict) else {}
            config = {k: v for k, v in input_data.items() if k not in _INPUT_KEYS_NOT_CONFIG}
            step_input = input_data.get("data")
            node_id = str(context.get("step_id") or _STEP_TYPE)
            node = WorkflowNode(id=node_id, type=_STEP_TYPE, data=config)
            result = await self.executor.execute_step(
                node,
                step_input if isinstance(step_input, dict) else {},
                execution_id=str(context.get("workflow_id") or "") or None,
            )
            return base.ExecutionResult(
                success=result.success,
                data=result.output_data,
                error=result.error_message,
                metadata={"duration_ms": result.duration_ms},
            )

    return AIStepAdapter


def install_ai_service(service: AIService | None = None) -> AIService:
    """Make the host's ``get_ai_service()`` return this package's ``AIService``.

    Host code that calls the service directly (its own AI executors, API routes) then goes
    through the same policy, limits and ledger as AI steps. Returns the service installed.
    """
    from ..service.ai_service import AIService

    host_service = _host("app.services.ai_service")
    installed = service or AIService()
    host_service.set_ai_service(installed)
    return installed
