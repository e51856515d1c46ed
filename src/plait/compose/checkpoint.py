"""Checkpoints: a run's position between two steps, so an interrupted or crashed run can continue.

A checkpoint is written after every step (and at an interrupt) as versioned, checksummed bytes. Stores
only keep bytes, so every store behaves the same and nothing a node holds on to can change a saved step.
Checkpoints are pickled: load them only from a store you trust, as you would a database.
"""

from __future__ import annotations

import pickle
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from plait.compose.errors import CheckpointCorrupt, CheckpointError, Interrupt

FORMAT_VERSION = 1
_MAGIC = b"PLCK"
_HEADER = struct.Struct(">4sHI")  # magic, format version, crc32 of the payload

Status = Literal["running", "interrupted", "done"]


@dataclass(slots=True, kw_only=True)
class Checkpoint:
    run_id: str
    graph: str
    step: int
    status: Status
    tasks: list[tuple[str, Any]] = field(default_factory=list)
    inbox: dict[str, dict[str, Any]] = field(default_factory=dict)
    state: dict[str, Any] | None = None
    resume: dict[str, list[Any]] = field(default_factory=dict)
    interrupts: list[Interrupt] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)  # this graph's nodes that the interrupts stopped
    pause_kind: Literal["before", "after", "inside"] | None = None
    reached_end: bool = False
    output: Any = None


def encode(checkpoint: Checkpoint) -> bytes:
    try:
        payload = pickle.dumps(checkpoint, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise CheckpointError(
            f"cannot save run {checkpoint.run_id}: a node input or the state is not serialisable ({exc})"
        ) from exc
    return _HEADER.pack(_MAGIC, FORMAT_VERSION, zlib.crc32(payload)) + payload


def decode(data: bytes) -> Checkpoint:
    if len(data) < _HEADER.size:
        raise CheckpointCorrupt("checkpoint is truncated")
    magic, version, crc = _HEADER.unpack_from(data)
    if magic != _MAGIC:
        raise CheckpointCorrupt("not a Plait checkpoint")
    if version != FORMAT_VERSION:
        raise CheckpointCorrupt(
            f"checkpoint format version {version} is not supported (this Plait reads {FORMAT_VERSION})"
        )
    payload = memoryview(data)[_HEADER.size :]
    if zlib.crc32(payload) != crc:
        raise CheckpointCorrupt("checkpoint checksum mismatch: the stored bytes are damaged")
    try:
        checkpoint = pickle.loads(payload)
    except Exception as exc:
        raise CheckpointCorrupt(f"checkpoint cannot be decoded ({exc})") from exc
    if not isinstance(checkpoint, Checkpoint):
        raise CheckpointCorrupt("checkpoint payload has the wrong type")
    return checkpoint


@runtime_checkable
class Checkpointer(Protocol):
    """Stores checkpoint bytes per run and step. Implementations: memory, SQLite, PostgreSQL (platform)."""

    async def put(self, run_id: str, step: int, data: bytes) -> None: ...

    async def get(self, run_id: str, step: int | None = None) -> bytes | None:
        """The checkpoint of ``step``, or the latest one when ``step`` is None."""
        ...

    async def steps(self, run_id: str) -> list[int]: ...

    async def delete(self, run_id: str) -> None: ...


class MemoryCheckpointer:
    """Checkpoints in a dict: for tests, notebooks and single-process servers."""

    def __init__(self, *, keep_history: bool = True) -> None:
        self.keep_history = keep_history
        self._runs: dict[str, dict[int, bytes]] = {}

    async def put(self, run_id: str, step: int, data: bytes) -> None:
        steps = self._runs.get(run_id)
        if steps is None or not self.keep_history:
            self._runs[run_id] = steps = {}
        steps[step] = data

    async def get(self, run_id: str, step: int | None = None) -> bytes | None:
        steps = self._runs.get(run_id)
        if not steps:
            return None
        return steps.get(max(steps) if step is None else step)

    async def steps(self, run_id: str) -> list[int]:
        return sorted(self._runs.get(run_id, ()))

    async def delete(self, run_id: str) -> None:
        self._runs.pop(run_id, None)
