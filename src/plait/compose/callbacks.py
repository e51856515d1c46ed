"""Callbacks: the one hook for logging, metrics and tracing.

A handler overrides the methods it cares about. The engine picks its code path once per run: with no
handler set (globally or for the run), no callback code runs at all.

The contract, the same in the four modes (invoke, stream, collect, transform) and for a graph and each of
its nodes (a subgraph is a node of its parent; its own nodes report paths under it):

- A run fires one start and then exactly one end: ``on_end``, ``on_end_stream`` or ``on_error``.
- The start fires when the run starts: ``on_start`` with a value input, ``on_start_stream`` with a stream
  input (a reader of the input's chunks as the run reads them).
- The end fires when the output is complete: ``on_end`` with a value output at once; ``on_end_stream``
  with a stream output once that stream has been read to its end, with a reader of all its chunks. A
  one-chunk stream made from a value counts as a value.
- ``on_error`` fires when the run fails, including an error raised while its output stream is read; every
  run the error passes through (the node, the nodes reading from it, the graph) reports it.
- Stopping is not failing. When the task is cancelled, or the output stream is closed (or dropped
  unread) before its end, the run ends with ``on_end(None)`` or, if its output stream had started,
  ``on_end_stream`` with the chunks read so far, and ``info.metadata["cancelled"] = True``. A run
  paused by an interrupt ends the same way with ``info.metadata["interrupted"] = True``.
- Nodes end before the graph that contains them: when a graph's run ends, any node whose output stream
  was left unread ends there as cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from plait.compose.errors import GraphInterrupted
from plait.schema import StreamReader
from plait.schema.stream import _Source, _ValueSource

logger = logging.getLogger("plait.compose")


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
    """Override any of these; a run fires one start and one end (see the module docstring)."""

    def on_start(self, info: RunInfo, input: Any) -> None:
        """A node or graph is about to run with a value input."""

    def on_end(self, info: RunInfo, output: Any) -> None:
        """It finished with a value output, or stopped (``cancelled`` / ``interrupted`` in ``info.metadata``)
        before any output; ``info.duration`` is set."""

    def on_error(self, info: RunInfo, error: BaseException) -> None:
        """It failed, on its own or because a stream it read failed; ``info.duration`` is set."""

    def on_start_stream(self, info: RunInfo, input: StreamReader[Any]) -> None:
        """It is about to run with a stream input; ``input`` yields the chunks as the run reads them."""

    def on_end_stream(self, info: RunInfo, output: StreamReader[Any]) -> None:
        """Its output stream was read to its end (or stopped: see ``on_end``); ``output`` replays its chunks."""


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


def peek_value(reader: StreamReader[Any]) -> tuple[bool, Any]:
    """``(True, value)`` for an unread one-chunk stream made from a value, without reading it."""
    source = reader._source
    if type(source) is _ValueSource and not source.used and not reader._closed:
        return True, source.value
    return False, None


class Span:
    """One run of a graph or a node, from its start callback to its one end callback.

    ``open`` is shared by a root run's spans: the nodes whose output streams are still being read, which
    the graph's span ends as cancelled if it ends first.
    """

    __slots__ = ("done", "handlers", "info", "open", "record")

    def __init__(self, handlers: tuple[CallbackHandler, ...], info: RunInfo, open: dict[Span, None] | None) -> None:
        self.handlers = handlers
        self.info = info
        self.open = open
        self.record: _Record | None = None  # the output's chunks, once the output is a stream
        self.done = False

    def start(self, input: Any) -> None:
        self._notify("on_start", [input] * len(self.handlers))

    def start_stream(self, input: StreamReader[Any]) -> StreamReader[Any]:
        """Fire the start for a stream input; the run must read the returned reader instead."""
        is_value, value = peek_value(input)
        if is_value:
            self.start(value)
            return input
        record = _Record()
        self._notify("on_start_stream", record.readers(len(self.handlers)))
        return StreamReader(_Watched(input, record, None))

    def end(self, output: Any) -> None:
        self._finish("on_end", output)

    def end_stream(self, output: StreamReader[Any]) -> StreamReader[Any]:
        """End now for a value output; otherwise return the reader that ends this span when it is read out."""
        is_value, value = peek_value(output)
        if is_value:
            self.end(value)
            return output
        self.record = _Record()
        if self.info.kind == "node" and self.open is not None:
            self.open[self] = None
        return StreamReader(_Watched(output, self.record, self))

    def fail(self, error: BaseException) -> None:
        if isinstance(error, asyncio.CancelledError):
            self.stop("cancelled")
        elif isinstance(error, GraphInterrupted):
            self.stop("interrupted")
        else:
            self._finish("on_error", error)

    def stop(self, reason: Literal["cancelled", "interrupted"]) -> None:
        if not self.done:
            self.info.metadata[reason] = True
            self._finish("on_end", None)

    def _finish(self, event: str, arg: Any) -> None:
        """Fire the one end; ``on_end`` of a span whose output is a stream becomes ``on_end_stream``."""
        if self.done:
            return
        self.done = True
        self.info.duration = time.perf_counter() - self.info.started_at
        if self.open is not None:
            if self.info.kind == "graph":
                while self.open:
                    self.open.popitem()[0].stop("cancelled")
            else:
                self.open.pop(self, None)
        record = self.record
        if record is not None and event == "on_end":
            record.close()
            self._notify("on_end_stream", record.readers(len(self.handlers)))
        else:
            self._notify(event, [arg] * len(self.handlers))

    def _notify(self, event: str, args: list[Any]) -> None:
        for handler, arg in zip(self.handlers, args, strict=True):
            try:
                getattr(handler, event)(self.info, arg)
            except Exception:
                logger.exception("callback %s.%s failed", type(handler).__name__, event)


class _Record:
    """The chunks that went through a watched stream, kept for the handlers' readers."""

    __slots__ = ("chunks", "done", "waiters")

    def __init__(self) -> None:
        self.chunks: list[Any] = []
        self.done = False
        self.waiters: list[asyncio.Future[None]] = []

    def add(self, chunk: Any) -> None:
        if not self.done:
            self.chunks.append(chunk)
            if self.waiters:
                self._wake()

    def close(self) -> None:
        self.done = True
        if self.waiters:
            self._wake()

    def _wake(self) -> None:
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def readers(self, count: int) -> list[StreamReader[Any]]:
        return [StreamReader(_Replay(self)) for _ in range(count)]


class _Replay(_Source[Any]):
    """A handler's reader of a record: every chunk from the first, waiting for those not there yet.
    Unlike a ``copy``, it never pulls from the stream, so it cannot hold the stream open or slow it."""

    __slots__ = ("index", "record")

    def __init__(self, record: _Record) -> None:
        self.record = record
        self.index = 0

    async def next(self) -> Any:
        record = self.record
        while self.index >= len(record.chunks):
            if record.done:
                raise StopAsyncIteration
            waiter = asyncio.get_running_loop().create_future()
            record.waiters.append(waiter)
            await waiter
        self.index += 1
        return record.chunks[self.index - 1]


class _Watched(_Source[Any]):
    """Passes a stream through, recording its chunks, and ends ``span`` (when given) as the stream ends,
    fails, is closed, or is dropped unread."""

    __slots__ = ("reader", "record", "span")

    def __init__(self, reader: StreamReader[Any], record: _Record, span: Span | None) -> None:
        self.reader = reader
        self.record = record
        self.span = span

    async def next(self) -> Any:
        try:
            chunk = await self.reader.__anext__()
        except StopAsyncIteration:
            self.record.close()
            if self.span is not None:
                self.span.end(None)
            raise
        except BaseException as exc:
            self.record.close()
            if self.span is not None:
                self.span.fail(exc)
            raise
        self.record.add(chunk)
        return chunk

    async def close(self) -> None:
        try:
            await self.reader.aclose()
        finally:
            self._stop()

    def __del__(self) -> None:
        self._stop()

    def _stop(self) -> None:
        self.record.close()
        if self.span is not None:
            self.span.stop("cancelled")
