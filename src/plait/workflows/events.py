"""The typed events of a workflow run, in the order they happen: what the CLI prints, the API streams and the
durable store records.

Every node event names its node and, for a node inside a container (loop, batch) or a sub-workflow, the
``path`` of container ids above it and the iteration ``index``. Times are wall-clock seconds
(``started_at``) and durations in seconds, measured with a monotonic clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

NodeStatus = Literal["succeeded", "defaulted", "error_branch"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeStarted:
    run_id: str
    node_id: str
    node_type: str
    title: str
    inputs: dict[str, Any]
    started_at: float
    path: tuple[str, ...] = ()
    index: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeChunk:
    run_id: str
    node_id: str
    chunk: Any
    path: tuple[str, ...] = ()
    index: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeFinished:
    """A node gave outputs: its own (``succeeded``), its default ones after a failure (``defaulted``), or the
    error outputs of an error branch (``error_branch``); ``error`` then says what failed."""

    run_id: str
    node_id: str
    node_type: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    branch: str | None
    started_at: float
    duration: float
    attempts: int = 1
    status: NodeStatus = "succeeded"
    error: str | None = None
    path: tuple[str, ...] = ()
    index: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeFailed:
    run_id: str
    node_id: str
    node_type: str
    inputs: dict[str, Any]
    error: str
    error_type: str
    started_at: float
    duration: float
    attempts: int = 1
    path: tuple[str, ...] = ()
    index: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageOut:
    """A message for the user, sent mid-run or streamed by the end node; pieces of one message share
    ``message_id`` and the last has ``stream_end``."""

    run_id: str
    node_id: str
    message_id: str
    content: Any
    role: str = "assistant"
    stream_end: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Interrupted:
    """The run waits for a person: resume it with an answer to ``interrupt_id``. One event per waiting node;
    the run stops after the nodes that do not depend on them have finished."""

    run_id: str
    node_id: str
    interrupt_id: str
    kind: str
    data: Any = None
    path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished:
    run_id: str
    outputs: dict[str, Any]
    duration: float
    answer: str | None = None  # the end node's answer, in answer mode
    usage: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFailed:
    run_id: str
    error: str
    duration: float
    node_id: str | None = None
    error_type: str = "WorkflowRunError"


RunEvent = NodeStarted | NodeChunk | NodeFinished | NodeFailed | MessageOut | Interrupted | RunFinished | RunFailed
TERMINAL = (RunFinished, RunFailed)
