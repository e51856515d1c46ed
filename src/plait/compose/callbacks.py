"""Callbacks: the one hook for logging, metrics and tracing.

A handler overrides the methods it cares about. The engine picks its code path once per run: with no
handler set (globally or for the run), no callback code runs at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from plait.schema import StreamReader


@dataclass(slots=True)
class RunInfo:
    """Where a callback fires: the run, the node path from the root graph, and timing."""

    run_id: str
    path: tuple[str, ...]
    name: str
    kind: Literal["graph", "node"]
    started_at: float = 0.0
    duration: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class CallbackHandler:
    """Override any of these. Stream variants receive a copy of the stream, which they may read."""

    def on_start(self, info: RunInfo, input: Any) -> None:
        """A node or graph is about to run with a value input."""

    def on_end(self, info: RunInfo, output: Any) -> None:
        """It finished with a value output; ``info.duration`` is set."""

    def on_error(self, info: RunInfo, error: BaseException) -> None:
        """It failed (a timeout or cancellation too); ``info.duration`` is set."""

    def on_start_stream(self, info: RunInfo, input: StreamReader[Any]) -> None:
        """A node is about to run with a stream input."""

    def on_end_stream(self, info: RunInfo, output: StreamReader[Any]) -> None:
        """A node returned a stream; it may still be producing."""


_global_handlers: tuple[CallbackHandler, ...] = ()


def add_global_handler(handler: CallbackHandler) -> None:
    """Register a handler for every run in this process (e.g. a tracer at start-up)."""
    global _global_handlers
    _global_handlers = (*_global_handlers, handler)


def remove_global_handler(handler: CallbackHandler) -> None:
    global _global_handlers
    _global_handlers = tuple(h for h in _global_handlers if h is not handler)


def handlers_for_run(extra: Sequence[CallbackHandler] | None) -> tuple[CallbackHandler, ...]:
    if not extra:
        return _global_handlers
    return (*_global_handlers, *extra)
