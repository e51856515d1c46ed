"""CompiledGraph: a checked graph that runs in the four modes, resumes from checkpoints, and nests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from plait.compose.callbacks import CallbackHandler, RunInfo, Span, handlers_for_run
from plait.compose.checkpoint import Checkpoint, decode
from plait.compose.engine import Engine, RunContext, subgraph_call
from plait.compose.errors import CheckpointCorrupt, CheckpointError, CheckpointNotFound
from plait.compose.plan import Plan
from plait.compose.runnable import Runnable, _iterate_blocking, _require_no_loop, deferred
from plait.schema import PlaitError, StreamReader

I = TypeVar("I")
O = TypeVar("O")

Handlers = Sequence[CallbackHandler] | None


class CompiledGraph(Runnable[I, O]):
    """Run with ``ainvoke`` / ``astream`` / ``acollect`` / ``atransform`` (or the blocking ``invoke`` and
    ``stream``); continue an interrupted run with ``aresume``. Safe to run concurrently."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.name = plan.name
        self.input_type = plan.input_type
        self.output_type = plan.output_type

    # -- the four modes -------------------------------------------------------------------------------
    async def ainvoke(self, input: I, /, *, run_id: str | None = None, callbacks: Handlers = None) -> O:
        ctx, token = self._context(run_id, callbacks)
        try:
            engine = Engine(self.plan, ctx, streaming=False)
            resume = _take_resume(token)
            if resume is None and ctx.open_spans is None:
                return await engine.start(input)  # type: ignore[no-any-return]
            return await self._run(engine, input, resume)  # type: ignore[no-any-return]
        finally:
            _leave(token)

    async def acollect(self, input: StreamReader[I], /, *, run_id: str | None = None, callbacks: Handlers = None) -> O:
        return await self._open(input, run_id, callbacks, collect=True)  # type: ignore[no-any-return]

    def astream(self, input: I, /, *, run_id: str | None = None, callbacks: Handlers = None) -> StreamReader[O]:
        return deferred(self._open(StreamReader.from_value(input), run_id, callbacks))

    def atransform(
        self, input: StreamReader[I], /, *, run_id: str | None = None, callbacks: Handlers = None
    ) -> StreamReader[O]:
        return deferred(self._open(input, run_id, callbacks))

    async def _open_stream(self, input: I) -> StreamReader[O]:
        return await self._open(StreamReader.from_value(input), None, None)  # type: ignore[no-any-return]

    async def _open_transform(self, input: StreamReader[I]) -> StreamReader[O]:
        return await self._open(input, None, None)  # type: ignore[no-any-return]

    async def _open(
        self, input: StreamReader[I], run_id: str | None, callbacks: Handlers, *, collect: bool = False
    ) -> Any:
        """Stream mode: the output stream, or its concatenation for ``collect``."""
        ctx, token = self._context(run_id, callbacks)
        try:
            engine = Engine(self.plan, ctx, streaming=True)
            return await self._run(engine, input, _take_resume(token), collect=collect)
        finally:
            _leave(token)

    def invoke(self, input: I, /, *, run_id: str | None = None, callbacks: Handlers = None) -> O:
        _require_no_loop("invoke", "ainvoke")
        return asyncio.run(self.ainvoke(input, run_id=run_id, callbacks=callbacks))

    def stream(self, input: I, /, *, run_id: str | None = None, callbacks: Handlers = None) -> Iterator[O]:
        _require_no_loop("stream", "astream")
        return _iterate_blocking(lambda: self.astream(input, run_id=run_id, callbacks=callbacks))

    # -- checkpoints ----------------------------------------------------------------------------------
    async def aresume(self, run_id: str, data: Any = None, *, callbacks: Handlers = None) -> O:
        """Continue an interrupted (or crashed) run; ``data`` answers the interrupt.

        For an ``interrupt(payload)`` inside a node, ``data`` is what the call returns when the node re-runs.
        Before a node, ``data`` (when not None) replaces the node's input, or is a state update in a state
        graph; after a node, it is a state update. Several paused nodes take a dict of node name to data.
        """
        ctx, token = self._context(run_id, callbacks)
        try:
            engine = Engine(self.plan, ctx, streaming=False)
            return await self._run(engine, None, [data])  # type: ignore[no-any-return]
        finally:
            _leave(token)

    def resume(self, run_id: str, data: Any = None, *, callbacks: Handlers = None) -> O:
        _require_no_loop("resume", "aresume")
        return asyncio.run(self.aresume(run_id, data, callbacks=callbacks))

    def astream_resume(self, run_id: str, data: Any = None, *, callbacks: Handlers = None) -> StreamReader[O]:
        """``aresume`` in stream mode."""

        async def open_resumed() -> StreamReader[O]:
            ctx, token = self._context(run_id, callbacks)
            try:
                engine = Engine(self.plan, ctx, streaming=True)
                return await self._run(engine, StreamReader.from_value(None), [data])  # type: ignore[no-any-return]
            finally:
                _leave(token)

        return deferred(open_resumed())

    async def get_checkpoint(self, run_id: str, step: int | None = None) -> Checkpoint:
        """The latest (or a given step's) checkpoint of a run, decoded and checked."""
        return await self._load(run_id, step, self.plan.checkpointer)

    async def _load(self, run_id: str, step: int | None, checkpointer: Any) -> Checkpoint:
        if checkpointer is None:
            raise CheckpointError(f"graph {self.name!r} has no checkpointer; compile it with checkpointer=...")
        data = await checkpointer.get(run_id, step)
        if data is None:
            raise CheckpointNotFound(run_id)
        checkpoint = decode(data)
        if checkpoint.graph != self.plan.signature:
            raise CheckpointCorrupt(
                f"checkpoint of run {run_id!r} was written by graph {checkpoint.graph}, not {self.plan.signature}"
            )
        return checkpoint

    async def _resume_engine(self, engine: Engine, resume: list[Any]) -> Any:
        checkpoint = await self._load(engine.ctx.run_id, None, engine.checkpointer)
        if checkpoint.status == "done":
            raise PlaitError(f"run {engine.ctx.run_id!r} already finished; nothing to resume")
        return await engine.resume_from(checkpoint, resume[-1])

    # -- context --------------------------------------------------------------------------------------
    def _context(self, run_id: str | None, callbacks: Handlers) -> tuple[RunContext, Any]:
        """This run's context; a subgraph joins its parent's run (path, handlers, checkpointer)."""
        call = subgraph_call.get()
        if call is not None:
            parent = call.parent
            token = subgraph_call.set(None)
            ctx = RunContext(
                run_id=f"{parent.run_id}:{call.node}",
                path=(*parent.path, call.node),
                handlers=parent.handlers,
                checkpointer=self.plan.checkpointer or parent.checkpointer,
                open_spans=parent.open_spans,
            )
            return ctx, (token, call.resume)
        handlers = handlers_for_run(callbacks)
        ctx = RunContext(
            run_id=run_id or uuid.uuid4().hex,
            path=(),
            handlers=handlers,
            checkpointer=self.plan.checkpointer,
            open_spans={} if handlers else None,
        )
        return ctx, None

    async def _run(self, engine: Engine, input: Any, resume: list[Any] | None, *, collect: bool = False) -> Any:
        """Start or resume the engine, inside the graph's span when this is a root run with handlers (a
        subgraph's run is covered by its parent's node span)."""
        ctx, streaming = engine.ctx, engine.streaming
        span = None
        if ctx.open_spans is not None and not ctx.path:
            info = RunInfo(run_id=ctx.run_id, path=(), name=self.name, kind="graph", started_at=time.perf_counter())
            span = Span(ctx.handlers, info, ctx.open_spans)
            if streaming:
                input = span.start_stream(input)
            else:
                span.start(input)
        try:
            out = await (engine.start(input) if resume is None else self._resume_engine(engine, resume))
            if collect:
                out = await out.concat()
        except BaseException as exc:
            if span is not None:
                span.fail(exc)
            raise
        if span is None:
            return out
        if streaming and not collect:
            return span.end_stream(out)
        span.end(out)
        return out

    def __repr__(self) -> str:
        return f"CompiledGraph({self.name}, {len(self.plan.nodes) - 1} nodes)"


def _take_resume(token: Any) -> list[Any] | None:
    return token[1] if token is not None else None


def _leave(token: Any) -> None:
    if token is not None:
        subgraph_call.reset(token[0])
