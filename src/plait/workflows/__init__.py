"""Workflows: documents of typed nodes and edges (Coze Studio / Dify style), validated, compiled onto a compose
graph and run with typed events. See docs/workflows.md."""

from plait.workflows.compiler import CompiledWorkflow, compile_workflow, parse_doc
from plait.workflows.dsl import Edge, Input, Node, Param, Reference, WorkflowDoc
from plait.workflows.errors import Problem, WorkflowInputError, WorkflowInvalid, WorkflowRunError
from plait.workflows.events import (
    Interrupted,
    MessageOut,
    NodeChunk,
    NodeFailed,
    NodeFinished,
    NodeStarted,
    RunEvent,
    RunFailed,
    RunFinished,
)
from plait.workflows.nodes.base import NodeContext, NodeResult, NodeType, Services, register
from plait.workflows.run import resume_workflow, run_workflow
from plait.workflows.state import Checkpointer, MemoryRunStore, RunState
from plait.workflows.validate import validate

__all__ = [
    "Checkpointer",
    "CompiledWorkflow",
    "Edge",
    "Input",
    "Interrupted",
    "MemoryRunStore",
    "MessageOut",
    "Node",
    "NodeChunk",
    "NodeContext",
    "NodeFailed",
    "NodeFinished",
    "NodeResult",
    "NodeStarted",
    "NodeType",
    "Param",
    "Problem",
    "Reference",
    "RunEvent",
    "RunFailed",
    "RunFinished",
    "RunState",
    "Services",
    "WorkflowDoc",
    "WorkflowInputError",
    "WorkflowInvalid",
    "WorkflowRunError",
    "compile_workflow",
    "parse_doc",
    "register",
    "resume_workflow",
    "run_workflow",
    "validate",
]
