"""Running a workflow: ``run_workflow`` yields typed events as they happen; ``resume_workflow`` continues a
paused (or crashed) run from its checkpoint, without running again the nodes that finished.

    async for event in run_workflow(doc, {"question": "hi"}, services=Services(models=registry)):
        print(event)

The document is validated and compiled on each call; compile it once with ``compile_workflow`` and call
``CompiledWorkflow.events`` for hot paths.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from plait.workflows.compiler import CompiledWorkflow, compile_workflow
from plait.workflows.dsl import WorkflowDoc
from plait.workflows.errors import WorkflowInputError, WorkflowRunError
from plait.workflows.events import RunEvent
from plait.workflows.nodes.base import Services
from plait.workflows.state import Checkpointer, MemoryRunStore, NodeRecord, PendingInterrupt, RunState

Doc = WorkflowDoc | Mapping[str, Any]


def run_workflow(
    doc: Doc,
    inputs: Mapping[str, Any] | None = None,
    *,
    services: Services | None = None,
    run_id: str | None = None,
    system: Mapping[str, Any] | None = None,
    checkpointer: Checkpointer | None = None,
    stream: bool = False,
) -> AsyncIterator[RunEvent]:
    """Run ``doc`` with ``inputs``; the events end with ``RunFinished``, ``RunFailed``, or the ``Interrupted``
    events of a run that waits for answers. Bad inputs raise ``WorkflowInputError`` before the run starts."""
    return compile_workflow(doc).events(
        inputs or {}, services=services, run_id=run_id, system=system, checkpointer=checkpointer, stream=stream
    )


def resume_workflow(
    doc: Doc,
    run_id: str,
    answers: Any = None,
    *,
    checkpointer: Checkpointer,
    services: Services | None = None,
    stream: bool = False,
) -> AsyncIterator[RunEvent]:
    """Continue run ``run_id`` from its last saved state. ``answers`` answers the pending interrupt (or maps
    interrupt ids or node ids to answers when several wait); finished nodes are not run again."""
    return compile_workflow(doc).resume_events(
        run_id, answers, checkpointer=checkpointer, services=services, stream=stream
    )


__all__ = [
    "Checkpointer",
    "CompiledWorkflow",
    "MemoryRunStore",
    "NodeRecord",
    "PendingInterrupt",
    "RunState",
    "WorkflowInputError",
    "WorkflowRunError",
    "compile_workflow",
    "resume_workflow",
    "run_workflow",
]
