"""CompiledGraph: a checked graph that runs in the four modes, resumes from checkpoints, and nests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from plait.compose.callbacks import CallbackHandler, RunInfo, handlers_for_run
from plait.compose.checkpoint import Checkpoint, decode
from plait.compose.engine import Engine, RunContext, _notify, subgraph_call
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
            resume = _take_resume(token)
            engine = Engine(self.plan, ctx, streaming=False)
            if resume is not None:
                return await self._observe(ctx, input, self._resume_engine(engine, resume))  # type: ignore[no-any-return]
            if not ctx.handlers or ctx.path:
                return await engine.start(input)  # type: ignore[no-any-return]
            return await self._observe(ctx, input, engine.start(input))  # type: ignore[no-any-return]
        finally:
            _leave(token)

    async def acollect(self, input: StreamReader[I], /, *, run_id: str | None = None, callbacks: Handlers = None) -> O:
        return await (await self._open_transform(input, run_id=run_id, callbacks=callbacks)).concat()

    def astream(self, input: I, /, *, run_id: str | None = None, callbacks: Handlers = None) -> StreamReader[O]:
        return deferred(self._open_transform(StreamReader.from_value(input), run_id=run_id, callbacks=callbacks))

    def atransform(
        self, input: StreamReader[I], /, *, run_id: str | None = None, callbacks: Handlers = None
    ) -> StreamReader[O]:
        return deferred(self._open_transform(input, run_id=run_id, callbacks=callbacks))

    async def _open_stream(self, input: I) -> StreamReader[O]:
        return await self._open_transform(StreamReader.from_value(input))

    async def _open_transform(
        self, input: StreamReader[I], *, run_id: str | None = None, callbacks: Handlers = None
    ) -> StreamReader[O]:
        ctx, token = self._context(run_id, callbacks)
        try:
            resume = _take_resume(token)
            engine = Engine(self.plan, ctx, streaming=True)
            if resume is not None:
                return await self._resume_engine(engine, resume)  # type: ignore[no-any-return]
            return await engine.start(input)  # type: ignore[no-any-return]
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
            return await self._observe(ctx, None, self._resume_engine(engine, [data]))  # type: ignore[no-any-return]
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
                return await self._resume_engine(engine, [data])  # type: ignore[no-any-return]
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
            )
            return ctx, (token, call.resume)
        handlers = handlers_for_run(callbacks)
        ctx = RunContext(
            run_id=run_id or uuid.uuid4().hex,
            path=(),
            handlers=handlers,
            checkpointer=self.plan.checkpointer,
        )
        return ctx, None

    async def _observe(self, ctx: RunContext, input: Any, run: Any) -> Any:
        """Run the whole graph between graph-level callbacks (root runs only)."""
        if not ctx.handlers or ctx.path:
            return await run
        info = RunInfo(run_id=ctx.run_id, path=(), name=self.name, kind="graph", started_at=time.perf_counter())
        count = len(ctx.handlers)
        _notify(ctx.handlers, "on_start", info, [input] * count)
        try:
            output = await run
        except BaseException as exc:
            info.duration = time.perf_counter() - info.started_at
            _notify(ctx.handlers, "on_error", info, [exc] * count)
            raise
        info.duration = time.perf_counter() - info.started_at
        _notify(ctx.handlers, "on_end", info, [output] * count)
        return output

    def __repr__(self) -> str:
        return f"CompiledGraph({self.name}, {len(self.plan.nodes) - 1} nodes)"


def _take_resume(token: Any) -> list[Any] | None:
    return token[1] if token is not None else None


def _leave(token: Any) -> None:
    if token is not None:
        subgraph_call.reset(token[0])
