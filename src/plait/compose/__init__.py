"""Compose: typed components joined into graphs that run in four modes, with callbacks and checkpoints."""

from plait.compose.callbacks import CallbackHandler, RunInfo, add_global_handler, remove_global_handler
from plait.compose.chain import Chain
from plait.compose.checkpoint import Checkpoint, Checkpointer, MemoryCheckpointer
from plait.compose.checkpoint_sqlite import SQLiteCheckpointer
from plait.compose.compiled import CompiledGraph
from plait.compose.errors import (
    CheckpointCorrupt,
    CheckpointError,
    CheckpointNotFound,
    GraphInterrupted,
    GraphRunError,
    GraphSetupError,
    Interrupt,
    MaxStepsExceeded,
    NodeTimeoutError,
)
from plait.compose.graph import END, START, Graph
from plait.compose.interrupt import interrupt
from plait.compose.policy import RetryPolicy
from plait.compose.runnable import Lambda, Runnable
from plait.compose.state import add, append, merge
from plait.compose.workflow import Workflow, WorkflowNode

__all__ = [
    "END",
    "START",
    "CallbackHandler",
    "Chain",
    "Checkpoint",
    "CheckpointCorrupt",
    "CheckpointError",
    "CheckpointNotFound",
    "Checkpointer",
    "CompiledGraph",
    "Graph",
    "GraphInterrupted",
    "GraphRunError",
    "GraphSetupError",
    "Interrupt",
    "Lambda",
    "MaxStepsExceeded",
    "MemoryCheckpointer",
    "NodeTimeoutError",
    "RetryPolicy",
    "RunInfo",
    "Runnable",
    "SQLiteCheckpointer",
    "Workflow",
    "WorkflowNode",
    "add",
    "add_global_handler",
    "append",
    "interrupt",
    "merge",
    "remove_global_handler",
]
