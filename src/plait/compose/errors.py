"""Errors of the compose layer: whose fault, and where.

PlaitError
├── GraphSetupError          the graph as built cannot run (found by compile: developer mistake)
├── GraphRunError            a run failed; carries the node path and the cause
│   ├── NodeTimeoutError     a node exceeded its timeout
│   └── MaxStepsExceeded     a Pregel run hit its step bound
├── GraphInterrupted         a run paused on purpose; resume it by run id
└── CheckpointError          a checkpoint cannot be used
    ├── CheckpointNotFound   no checkpoint under that run id
    └── CheckpointCorrupt    unreadable bytes, an unknown format version, or another graph's checkpoint
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from plait.schema.errors import PlaitError


class GraphSetupError(PlaitError):
    """The graph cannot be compiled as built."""


class GraphRunError(PlaitError):
    """A node failed during a run. ``path`` locates it from the root graph down."""

    def __init__(self, path: Sequence[str], message: str, *, cause: BaseException | None = None) -> None:
        self.path = tuple(path)
        self.cause = cause
        where = f"node {'/'.join(self.path)}" if self.path else "graph"
        super().__init__(f"{where}: {message}")


class NodeTimeoutError(GraphRunError):
    def __init__(self, path: Sequence[str], timeout: float) -> None:
        super().__init__(path, f"timed out after {timeout:g}s")
        self.timeout = timeout


class MaxStepsExceeded(GraphRunError):
    def __init__(self, path: Sequence[str], max_steps: int) -> None:
        super().__init__(path, f"run exceeded {max_steps} steps; raise max_steps or check the loop's exit branch")
        self.max_steps = max_steps


@dataclass(frozen=True, slots=True)
class Interrupt:
    """Why a run paused: before or after a node, or a node's own ``interrupt(payload)`` call."""

    node: str
    kind: Literal["before", "after", "inside"]
    payload: Any = None
    path: tuple[str, ...] = ()


class GraphInterrupted(PlaitError):
    """The run paused and was checkpointed; ``resume(run_id, data)`` continues it."""

    def __init__(self, run_id: str, interrupts: Sequence[Interrupt]) -> None:
        self.run_id = run_id
        self.interrupts = tuple(interrupts)
        nodes = ", ".join(f"{i.kind} {'/'.join(i.path) or i.node}" for i in self.interrupts)
        super().__init__(f"run {run_id} interrupted ({nodes}); resume it with its run id")


class CheckpointError(PlaitError):
    """A checkpoint cannot be read, written or used."""


class CheckpointNotFound(CheckpointError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"no checkpoint for run {run_id!r}")
        self.run_id = run_id


class CheckpointCorrupt(CheckpointError):
    """The stored bytes are damaged, of an unknown version, or written by another graph."""
