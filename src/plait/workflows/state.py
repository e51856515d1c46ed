"""A run's durable state: what a checkpointer stores so a paused or crashed run continues without re-running the
nodes that finished.

The engine hands the same ``RunState`` object to the checkpointer after each finished top-level node, at an
interrupt and at the end; ``to_json`` / ``from_json`` give the plain JSON a store keeps. Nodes inside a
container's body are not recorded one by one: the container is the unit, re-run as a whole on resume.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol, runtime_checkable

from plait.workflows.events import NodeStatus

RunStatus = Literal["running", "interrupted", "succeeded", "failed"]
SaveReason = Literal["node", "interrupt", "finished", "failed"]


@dataclass(slots=True, kw_only=True)
class NodeRecord:
    """A top-level node that finished: what later nodes read, and the branch it chose."""

    outputs: dict[str, Any]
    branch: str | None
    status: NodeStatus
    started_at: float
    duration: float
    attempts: int = 1
    error: str | None = None


@dataclass(slots=True, kw_only=True)
class PendingInterrupt:
    interrupt_id: str
    node_id: str
    kind: str
    data: Any = None


@dataclass(slots=True, kw_only=True)
class RunState:
    run_id: str
    workflow: str  # the document's name (a store keeps its own id beside it)
    status: RunStatus = "running"
    inputs: dict[str, Any] = field(default_factory=dict)
    system: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    interrupts: list[PendingInterrupt] = field(default_factory=list)
    answers: dict[str, list[Any]] = field(default_factory=dict)  # node id -> answers to its interrupts, in order
    outputs: dict[str, Any] | None = None
    answer: str | None = None
    error: str | None = None
    started_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain data (values shared, not copied: ``dumps`` right away, or copy). ``asdict`` deep-copies every
        output of every node on each save, which made a save cost O(run) in copies."""
        data = {name: getattr(self, name) for name in _FIELDS}
        data["nodes"] = {key: {f: getattr(r, f) for f in _RECORD_FIELDS} for key, r in self.nodes.items()}
        data["interrupts"] = [{f: getattr(i, f) for f in _INTERRUPT_FIELDS} for i in self.interrupts]
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunState:
        raw = dict(data)
        raw["nodes"] = {k: NodeRecord(**v) for k, v in raw.get("nodes", {}).items()}
        raw["interrupts"] = [PendingInterrupt(**i) for i in raw.get("interrupts", [])]
        return cls(**raw)

    @classmethod
    def loads(cls, text: str) -> RunState:
        return cls.from_json(json.loads(text))


_FIELDS = tuple(f.name for f in fields(RunState))
_RECORD_FIELDS = tuple(f.name for f in fields(NodeRecord))
_INTERRUPT_FIELDS = tuple(f.name for f in fields(PendingInterrupt))


@runtime_checkable
class Checkpointer(Protocol):
    """Where a run's state goes. ``save`` is awaited after each finished top-level node (``node``), when the run
    pauses (``interrupt``) and when it ends (``finished`` / ``failed``); ``load`` gives it back to resume."""

    async def save(self, state: RunState, reason: SaveReason, node_id: str | None) -> None: ...

    async def load(self, run_id: str) -> RunState | None: ...


class MemoryRunStore:
    """Run states as JSON in a dict: tests, the CLI, single-process use."""

    def __init__(self) -> None:
        self._runs: dict[str, str] = {}
        self.saves: list[tuple[str, SaveReason, str | None]] = []

    async def save(self, state: RunState, reason: SaveReason, node_id: str | None) -> None:
        self._runs[state.run_id] = state.dumps()
        self.saves.append((state.run_id, reason, node_id))

    async def load(self, run_id: str) -> RunState | None:
        text = self._runs.get(run_id)
        return RunState.loads(text) if text is not None else None
