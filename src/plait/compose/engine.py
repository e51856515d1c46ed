"""The run loop: supersteps over a compiled plan, in value mode or stream mode.

Each step runs the ready nodes (awaited directly when there is one, as tasks when several), then routes
their outputs along edges and branches to decide the next step. DAG plans run a node once, when every
predecessor has either delivered or been skipped by a branch; Pregel plans run whichever nodes received
input in the previous step. The loop does no validation: compile did it.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

from plait.compose.callbacks import CallbackHandler, RunInfo, Span, peek_value
from plait.compose.checkpoint import Checkpoint, Checkpointer, encode
from plait.compose.errors import (
    GraphInterrupted,
    GraphRunError,
    Interrupt,
    MaxStepsExceeded,
    NodeTimeoutError,
)
from plait.compose.graph import END, START
from plait.compose.interrupt import NodeInterrupt, enter_resume_scope, leave_resume_scope
from plait.compose.plan import NodeDeadline, Plan, PlanNode
from plait.schema import PlaitError, StreamReader
from plait.schema.stream import _Source, take_value


class _Skip(enum.Enum):
    SKIP = "skip"


SKIP = _Skip.SKIP
_NOTHING: Any = object()


@dataclass(slots=True)
class RunContext:
    run_id: str
    path: tuple[str, ...]
    handlers: tuple[CallbackHandler, ...]
    checkpointer: Checkpointer | None
    open_spans: dict[Span, None] | None = None  # with handlers: shared by the root run and its subgraphs


@dataclass(slots=True)
class SubgraphCall:
    """Set by a parent run around a subgraph node, so the subgraph joins the parent's run."""

    parent: RunContext
    node: str
    resume: list[Any] | None


subgraph_call: ContextVar[SubgraphCall | None] = ContextVar("plait_subgraph_call", default=None)


class _Paused:
    __slots__ = ("interrupts",)

    def __init__(self, interrupts: tuple[Interrupt, ...]) -> None:
        self.interrupts = interrupts


class _FanIn:
    """Stream mode: several predecessor streams that a node receives merged, read when the node runs."""

    __slots__ = ("build", "parts")

    def __init__(self, parts: dict[str, Any], build: Any) -> None:
        self.parts = parts
        self.build = build


Task = tuple[str, Any]


class Engine:
    """One run of a plan. Not reusable: a compiled graph makes one per invoke."""

    __slots__ = (
        "checkpointer",
        "ctx",
        "finished",
        "inbox",
        "output",
        "plan",
        "resume",
        "state",
        "step",
        "streaming",
    )

    def __init__(self, plan: Plan, ctx: RunContext, *, streaming: bool) -> None:
        self.plan = plan
        self.ctx = ctx
        self.streaming = streaming
        self.checkpointer = ctx.checkpointer
        self.inbox: dict[str, dict[str, Any]] = {}
        self.state: dict[str, Any] | None = None
        self.resume: dict[str, list[Any]] = {}
        self.output: Any = _NOTHING
        self.finished = False
        self.step = 0

    # -- entry points ---------------------------------------------------------------------------------
    async def start(self, input: Any) -> Any:
        plan = self.plan
        if plan.state is not None:
            self.state = {}
            value = await input.concat() if self.streaming else input
            self._fold(value, "graph input")
        tasks: list[Task] = []
        await self._route_all([(START, input)], tasks)
        if self.checkpointer is not None:
            tasks = await self._save(tasks, "running")
        return await self._loop(tasks, frozenset())

    async def resume_from(self, checkpoint: Checkpoint, data: Any) -> Any:
        self.step = checkpoint.step
        self.inbox = checkpoint.inbox
        self.state = checkpoint.state
        self.resume = checkpoint.resume
        if checkpoint.reached_end:
            self.output = _wrap(checkpoint.output) if self.streaming else checkpoint.output
            self.finished = True
        tasks = checkpoint.tasks
        if self.streaming:
            tasks = [(name, _wrap(value)) for name, value in tasks]
        passed: frozenset[str] = frozenset()
        if checkpoint.status == "interrupted":
            values = _distribute(checkpoint.paused, data, self.ctx.path)
            kind = checkpoint.pause_kind
            if kind == "inside":
                for node, value in values.items():
                    self.resume.setdefault(node, []).append(value)
            elif kind == "before":
                passed = frozenset(checkpoint.paused)
                tasks = [
                    (name, self._edited_input(name, inp, values.get(name)) if name in values else inp)
                    for name, inp in tasks
                ]
            else:
                for node, value in values.items():
                    self._edit_after(node, value)
        elif data is not None:
            raise PlaitError(f"run {self.ctx.run_id} was not interrupted; resume it without data")
        return await self._loop(tasks, passed)

    # -- the loop -------------------------------------------------------------------------------------
    async def _loop(self, tasks: list[Task], passed_before: frozenset[str]) -> Any:
        plan = self.plan
        checkpointing = self.checkpointer is not None
        while tasks and not self.finished:
            if self.step >= plan.max_steps:
                raise MaxStepsExceeded(self.ctx.path, plan.max_steps)
            if plan.interrupt_before:
                hit = [n for n, _ in tasks if n in plan.interrupt_before and n not in passed_before]
                if hit:
                    await self._pause(tasks, hit, "before", [Interrupt(n, "before") for n in hit])
                passed_before = frozenset()
            if len(tasks) == 1:
                results = [await self._run_task(*tasks[0])]
            else:
                results = await self._run_parallel(tasks)
            next_tasks: list[Task] = []
            done: list[Task] = []
            paused: list[Task] = []
            interrupts: list[Interrupt] = []
            for task, out in zip(tasks, results, strict=True):
                if type(out) is _Paused:
                    paused.append(task)
                    interrupts.extend(out.interrupts)
                else:
                    done.append((task[0], out))
            if self.resume:
                for name, _ in done:
                    self.resume.pop(name, None)
            await self._route_all(done, next_tasks)
            self.step += 1
            if paused:
                await self._pause(paused + next_tasks, [n for n, _ in paused], "inside", interrupts)
            if plan.interrupt_after:
                hit = [n for n, _ in done if n in plan.interrupt_after]
                if hit:
                    await self._pause(next_tasks, hit, "after", [Interrupt(n, "after") for n in hit])
            if checkpointing and next_tasks and not self.finished:
                next_tasks = await self._save(next_tasks, "running")
            tasks = next_tasks
        return await self._finish()

    async def _finish(self) -> Any:
        if self.state is None and self.output is _NOTHING:
            raise GraphRunError(self.ctx.path, "the run ended without reaching END (every path was skipped)")
        if self.checkpointer is not None:
            await self._save([], "done")
        if self.state is not None:
            state = dict(self.state)
            return StreamReader.from_value(state) if self.streaming else state
        if type(self.output) is _FanIn:
            return _wrap(await self._resolve(self.output, END))
        return self.output

    # -- running nodes --------------------------------------------------------------------------------
    async def _run_parallel(self, tasks: list[Task]) -> list[Any]:
        """Run a step's nodes concurrently. Plain sync functions cannot overlap anyway, so they run inline
        first (no task to create); the others run as tasks, and the first failure cancels the rest."""
        results: list[Any] = [None] * len(tasks)
        futures: dict[int, asyncio.Future[Any]] = {}
        inline = not self.streaming and not self.ctx.handlers
        nodes = self.plan.nodes
        for index, (name, inp) in enumerate(tasks):
            if inline and nodes[name].sync_invoke is not None:
                results[index] = await self._run_task(name, inp)
        for index, (name, inp) in enumerate(tasks):
            if not (inline and nodes[name].sync_invoke is not None):
                futures[index] = asyncio.ensure_future(self._run_task(name, inp))
        if not futures:
            return results
        pending = list(futures.values())
        try:
            await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
        except asyncio.CancelledError:
            await _cancel_all(pending)
            raise
        for future in pending:
            if future.done() and not future.cancelled() and future.exception() is not None:
                await _cancel_all(pending)
                raise future.exception()  # type: ignore[misc]
        for index, future in futures.items():
            results[index] = future.result()
        return results

    async def _run_task(self, name: str, inp: Any) -> Any:
        node = self.plan.nodes[name]
        if self.state is not None:
            inp = dict(self.state)
            if self.streaming:
                inp = StreamReader.from_value(inp)
        elif type(inp) is _FanIn:
            inp = _wrap(await self._resolve(inp, name))
        if self.ctx.handlers:
            return await self._run_observed(node, inp)
        return await self._call(node, inp)

    async def _call(self, node: PlanNode, inp: Any) -> Any:
        name = node.name
        token: Any = None
        if node.is_subgraph:
            token = subgraph_call.set(SubgraphCall(self.ctx, name, self.resume.get(name)))
        elif self.resume and name in self.resume:
            token = enter_resume_scope(self.resume[name])
        try:
            if self.streaming:
                if node.sync_invoke is not None:
                    is_value, value = take_value(inp)
                    if is_value:
                        return StreamReader.from_value(node.sync_invoke(value))
                out = await node.transform(inp)
                if peek_value(out)[0]:
                    return out  # a value cannot fail while read, and stays one for the next node and callbacks
                return StreamReader(_Attributed(out, (*self.ctx.path, name)))
            if node.sync_invoke is not None:
                return node.sync_invoke(inp)
            return await node.invoke(inp)
        except NodeInterrupt as exc:
            return _Paused((Interrupt(name, "inside", exc.payload, (*self.ctx.path, name)),))
        except GraphInterrupted as exc:
            return _Paused(exc.interrupts)
        except NodeDeadline as exc:
            raise NodeTimeoutError((*self.ctx.path, name), exc.timeout) from exc
        except GraphRunError:
            raise
        except Exception as exc:
            raise GraphRunError((*self.ctx.path, name), _describe(exc), cause=exc) from exc
        finally:
            if token is not None:
                if node.is_subgraph:
                    subgraph_call.reset(token)
                else:
                    leave_resume_scope(token)

    async def _run_observed(self, node: PlanNode, inp: Any) -> Any:
        info = RunInfo(
            run_id=self.ctx.run_id,
            path=(*self.ctx.path, node.name),
            name=node.name,
            kind="node",
            started_at=time.perf_counter(),
        )
        info.metadata["step"] = self.step
        span = Span(self.ctx.handlers, info, self.ctx.open_spans)
        if self.streaming:
            inp = span.start_stream(inp)
        else:
            span.start(inp)
        try:
            out = await self._call(node, inp)
        except BaseException as exc:
            span.fail(exc)
            raise
        if type(out) is _Paused:
            span.stop("interrupted")
            return out
        if self.streaming:
            return span.end_stream(out)
        span.end(out)
        return out

    # -- routing --------------------------------------------------------------------------------------
    async def _route_all(self, done: list[Task], next_tasks: list[Task]) -> None:
        if self.state is not None:
            for name, out in done:
                if name != START:
                    self._fold(await out.concat() if self.streaming else out, name)
            for name, _ in done:
                await self._route(name, None, next_tasks)
        else:
            for name, out in done:
                await self._route(name, out, next_tasks)
        if self.plan.pregel:
            self._collect_pregel(next_tasks)

    async def _route(self, name: str, out: Any, next_tasks: list[Task]) -> None:
        node = self.plan.nodes[name]
        branch = node.branch
        if branch is None:
            targets = node.edges
            skipped: tuple[str, ...] = ()
        else:
            if self.state is not None:
                decided_on = dict(self.state)
            elif self.streaming:
                probe, out = out.copy(2)
                decided_on = await probe.concat()
            else:
                decided_on = out
            chosen = await self._choose(node, decided_on)
            targets = tuple(dict.fromkeys((*node.edges, *chosen)))
            skipped = tuple(t for t in node.successors if t not in targets)
        if self.streaming and self.state is None and len(targets) > 1:
            outs: list[Any] = out.copy(len(targets))
            for target, copy in zip(targets, outs, strict=True):
                self._deliver(name, target, copy, next_tasks)
        else:
            for target in targets:
                self._deliver(name, target, out, next_tasks)
        if skipped and not self.plan.pregel:
            for target in skipped:
                self._deliver(name, target, SKIP, next_tasks)

    async def _choose(self, node: PlanNode, value: Any) -> list[str]:
        branch = node.branch
        assert branch is not None
        path = (*self.ctx.path, node.name)
        try:
            result = branch.condition(value)
            if branch.is_async:
                result = await result
        except Exception as exc:
            raise GraphRunError(path, f"branch condition failed: {_describe(exc)}", cause=exc) from exc
        labels = [result] if isinstance(result, str) else list(result)
        chosen = []
        for label in labels:
            target = branch.targets.get(label)
            if target is None:
                allowed = ", ".join(map(repr, branch.targets))
                raise GraphRunError(path, f"branch chose {label!r}, which is not one of {allowed}")
            chosen.append(target)
        return chosen

    def _deliver(self, source: str, target: str, value: Any, next_tasks: list[Task]) -> None:
        if self.plan.pregel:
            if value is not SKIP:
                box = self.inbox.get(target)
                if box is None:
                    self.inbox[target] = {source: value}
                else:
                    box[source] = value
            return
        if target == END:
            self._deliver_end(source, value)
            return
        node = self.plan.nodes[target]
        if node.preds == 1:
            if value is SKIP:
                self._skip(target, next_tasks)
            elif node.build_input is None:
                next_tasks.append((target, value))
            else:
                next_tasks.append((target, self._assemble({source: value}, target)))
            return
        box = self.inbox.get(target)
        if box is None:
            box = self.inbox[target] = {}
        box[source] = value
        if len(box) == node.preds:
            del self.inbox[target]
            live = {k: v for k, v in box.items() if v is not SKIP}
            if live:
                next_tasks.append((target, self._assemble(live, target)))
            else:
                self._skip(target, next_tasks)

    def _deliver_end(self, source: str, value: Any) -> None:
        box = self.inbox.get(END)
        if box is None:
            box = self.inbox[END] = {}
        box[source] = value
        if len(box) == self.plan.end_preds:
            del self.inbox[END]
            live = {k: v for k, v in box.items() if v is not SKIP}
            if live and self.state is None:
                self.output = self._assemble(live, END)
            self.finished = True

    def _skip(self, name: str, next_tasks: list[Task]) -> None:
        for target in self.plan.nodes[name].successors:
            self._deliver(name, target, SKIP, next_tasks)

    def _collect_pregel(self, next_tasks: list[Task]) -> None:
        inbox, self.inbox = self.inbox, {}
        end = inbox.pop(END, None)
        if end is not None and self.state is None:
            self.output = self._assemble(end, END)
            self.finished = True
            return
        for target, parts in inbox.items():
            next_tasks.append((target, self._assemble(parts, target)))

    # -- inputs ---------------------------------------------------------------------------------------
    def _assemble(self, parts: dict[str, Any], target: str) -> Any:
        if self.state is not None:
            return None
        build = self.plan.nodes[target].build_input if target != END else self.plan.end_input
        if build is None and len(parts) == 1:
            return next(iter(parts.values()))
        if self.streaming:
            return _FanIn(parts, build)
        return self._build(parts, build, target)

    def _build(self, parts: dict[str, Any], build: Any, target: str) -> Any:
        try:
            return build(parts) if build is not None else _merge(parts)
        except (KeyError, TypeError, ValueError) as exc:
            raise GraphRunError((*self.ctx.path, target), _describe(exc), cause=exc) from exc

    async def _resolve(self, fan_in: _FanIn, target: str) -> Any:
        values = {source: await reader.concat() for source, reader in fan_in.parts.items()}
        return self._build(values, fan_in.build, target)

    def _fold(self, update: Any, writer: str) -> None:
        assert self.plan.state is not None and self.state is not None
        try:
            self.plan.state.apply(self.state, update, writer)
        except (KeyError, TypeError) as exc:
            path = self.ctx.path if writer == "graph input" else (*self.ctx.path, writer)
            raise GraphRunError(path, _describe(exc), cause=exc) from exc

    def _edited_input(self, name: str, inp: Any, value: Any) -> Any:
        if value is None:
            return inp
        if self.state is not None:
            self._fold(value, name)
            return inp
        return _wrap(value) if self.streaming else value

    def _edit_after(self, name: str, value: Any) -> None:
        if value is None:
            return
        if self.state is None:
            raise PlaitError(
                f"resume data after {name!r} has nothing to change in a graph without state; resume with None"
            )
        self._fold(value, name)

    # -- checkpoints and interrupts -------------------------------------------------------------------
    async def _save(
        self,
        tasks: list[Task],
        status: Literal["running", "interrupted", "done"],
        *,
        paused: list[str] | None = None,
        kind: Literal["before", "after", "inside"] | None = None,
        interrupts: list[Interrupt] | None = None,
    ) -> list[Task]:
        """Write a checkpoint; in stream mode pending streams are read into values first."""
        assert self.checkpointer is not None
        if self.streaming:
            tasks = [(name, _wrap(await self._materialize(inp, name))) for name, inp in tasks]
            for target, box in self.inbox.items():
                for source, value in box.items():
                    box[source] = _wrap(await self._materialize(value, target))
            saved_tasks = [(name, _peek(inp)) for name, inp in tasks]
            saved_inbox = {t: {s: _peek(v) for s, v in box.items()} for t, box in self.inbox.items()}
            if self.output is not _NOTHING:
                self.output = _wrap(await self._materialize(self.output, END))
        else:
            saved_tasks, saved_inbox = tasks, self.inbox
        checkpoint = Checkpoint(
            run_id=self.ctx.run_id,
            graph=self.plan.signature,
            step=self.step,
            status=status,
            tasks=saved_tasks,
            inbox=saved_inbox,
            state=self.state,
            resume=self.resume,
            interrupts=interrupts or [],
            paused=paused or [],
            pause_kind=kind,
            reached_end=self.output is not _NOTHING,
            output=None if self.output is _NOTHING else _peek(self.output),
        )
        await self.checkpointer.put(self.ctx.run_id, self.step, encode(checkpoint))
        return tasks

    async def _materialize(self, value: Any, target: str) -> Any:
        if type(value) is _FanIn:
            return await self._resolve(value, target)
        if isinstance(value, StreamReader):
            return await value.concat()
        return value

    async def _pause(
        self,
        tasks: list[Task],
        paused: list[str],
        kind: Literal["before", "after", "inside"],
        interrupts: list[Interrupt],
    ) -> None:
        interrupts = [
            i if i.path else Interrupt(i.node, i.kind, i.payload, (*self.ctx.path, i.node)) for i in interrupts
        ]
        if self.checkpointer is None:
            where = ", ".join("/".join(i.path) for i in interrupts)
            raise GraphRunError(
                self.ctx.path,
                f"interrupted ({kind} {where}) but there is no checkpointer to resume from; "
                "compile the graph with checkpointer=...",
            )
        await self._save(tasks, "interrupted", paused=paused, kind=kind, interrupts=interrupts)
        raise GraphInterrupted(self.ctx.run_id, interrupts)


class _Attributed(_Source[Any]):
    """Reports errors raised while a node's output stream is read as that node's errors."""

    __slots__ = ("path", "reader")

    def __init__(self, reader: StreamReader[Any], path: tuple[str, ...]) -> None:
        self.reader = reader
        self.path = path

    async def next(self) -> Any:
        try:
            return await self.reader.__anext__()
        except (StopAsyncIteration, GraphRunError, GraphInterrupted):
            raise
        except Exception as exc:
            raise GraphRunError(self.path, _describe(exc), cause=exc) from exc

    async def close(self) -> None:
        await self.reader.aclose()


def _peek(reader: Any) -> Any:
    """The value of a one-chunk reader made by ``_wrap``, without consuming it."""
    source = reader._source if isinstance(reader, StreamReader) else None
    return getattr(source, "value", reader)


def _wrap(value: Any) -> Any:
    return value if isinstance(value, StreamReader) else StreamReader.from_value(value)


def _merge(parts: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for source, value in parts.items():
        if not isinstance(value, Mapping):
            raise TypeError(f"fan-in merges dicts, but {source} gave {type(value).__name__}")
        for key in value:
            if key in merged:
                raise KeyError(f"fan-in conflict: key {key!r} comes from more than one predecessor")
        merged.update(value)
    return merged


def _distribute(paused: list[str], data: Any, path: tuple[str, ...]) -> dict[str, Any]:
    if len(paused) == 1:
        return {paused[0]: data}
    if data is None:
        return {}
    if not isinstance(data, Mapping) or not set(data) <= set(paused):
        raise PlaitError(
            f"{'/'.join(path) or 'the graph'} paused at {', '.join(paused)}: resume with a dict of node name to data"
        )
    return dict(data)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _cancel_all(futures: Sequence[asyncio.Future[Any]]) -> None:
    for future in futures:
        future.cancel()
    await asyncio.gather(*futures, return_exceptions=True)
