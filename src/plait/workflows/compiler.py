"""Compiling a workflow document onto a compose graph, and running the result.

Each workflow node becomes a compose node (a ``NodeRunner``) in a DAG-mode ``Graph``: the start node follows
START, every node without a way out leads to END, plain edges are compose edges and a node with handled edges
(a condition's if/else, an error branch) gets a compose branch that reads the handle the node chose. The
compose engine then gives the scheduling: parallel branches, joins that wait, and nodes on untaken branches
skipped. A container's body compiles to its own graph, run once per iteration; compose's Pregel cycles are
not used for loops because a loop's iterations need their own variables and break/continue, which a body run
gives directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from plait.compose import END, START, CompiledGraph, Graph, GraphRunError
from plait.workflows.dsl import Edge, Node, WorkflowDoc
from plait.workflows.engine import NodeFailedError, NodeRunner, Run, Scope, graph_runner
from plait.workflows.errors import WorkflowInputError, WorkflowInvalid, WorkflowRunError
from plait.workflows.events import RunEvent, RunFailed, RunFinished
from plait.workflows.nodes.base import Services, get_node_type
from plait.workflows.state import Checkpointer, RunState
from plait.workflows.types import describe, matches
from plait.workflows.validate import validate

_CACHE_SIZE = 64
_cache: dict[int, tuple[WorkflowDoc, CompiledWorkflow]] = {}


def compile_workflow(doc: WorkflowDoc | Mapping[str, Any]) -> CompiledWorkflow:
    """Validate (``WorkflowInvalid`` lists every problem) and compile; the same document object compiles once."""
    if not isinstance(doc, WorkflowDoc):
        doc = parse_doc(doc)
    cached = _cache.get(id(doc))
    if cached is not None and cached[0] is doc:
        return cached[1]
    problems = validate(doc)
    if problems:
        raise WorkflowInvalid(problems)
    compiled = CompiledWorkflow(doc)
    if len(_cache) >= _CACHE_SIZE:
        _cache.pop(next(iter(_cache)))
    _cache[id(doc)] = (doc, compiled)
    return compiled


def parse_doc(data: Mapping[str, Any]) -> WorkflowDoc:
    """A document from JSON data; its shape errors come back as ``WorkflowInvalid`` problems."""
    from pydantic import ValidationError

    from plait.workflows.validate import shape_problems

    try:
        return WorkflowDoc.model_validate(data)
    except ValidationError as exc:
        raise WorkflowInvalid(shape_problems(exc, data)) from None


class CompiledBody:
    """A container's body, compiled once and run per iteration."""

    def __init__(self, graph: CompiledGraph[Any, Any]) -> None:
        self.invoke = graph_runner(graph, streaming=False)
        self.stream = graph_runner(graph, streaming=True)

    async def run(self, scope: Scope) -> None:
        await (self.stream if scope.run.streaming else self.invoke)(scope)


def _build(
    name: str, nodes: Sequence[Node], edges: Sequence[Edge], entries: Sequence[str], container: str | None
) -> tuple[CompiledGraph[Any, Any], dict[str, NodeRunner]]:
    graph: Graph[Any, Any] = Graph(name=name)
    ids = {node.id for node in nodes}
    outgoing: dict[str, dict[str | None, list[str]]] = {node.id: {} for node in nodes}
    preds: dict[str, list[str]] = {node.id: [] for node in nodes}
    for edge in edges:
        if edge.source not in ids:
            continue  # the container's own edges into its body: entries
        target = END if edge.target == container else edge.target
        targets = outgoing[edge.source].setdefault(edge.source_handle, [])
        if target not in targets:
            targets.append(target)
        if target != END:
            preds[target].append(edge.source)
    runners: dict[str, NodeRunner] = {}
    for node in nodes:
        kind = get_node_type(node.type)
        assert kind is not None  # validated
        body = None
        if node.body is not None:
            body_entries = [e.target for e in node.body.edges if e.source == node.id]
            body_graph, _ = _build(f"{name}/{node.id}", node.body.nodes, node.body.edges, body_entries, node.id)
            body = CompiledBody(body_graph)
        runner = NodeRunner(node, kind, kind.parse_config(node.config), tuple(preds[node.id]), outgoing[node.id], body)
        runners[node.id] = runner
        graph.add_node(node.id, runner)
    for node_id in entries:
        graph.add_edge(START, node_id)
    for node_id, handles in outgoing.items():
        runner = runners[node_id]
        every = list(dict.fromkeys(t for targets in handles.values() for t in targets))
        if not every:
            graph.add_edge(node_id, END)
        elif runner.routed:
            graph.add_branch(node_id, runner.route, every)
        else:
            for target in every:
                graph.add_edge(node_id, target)
    for node_id, sources in preds.items():
        if len(sources) > 1:
            graph.nodes[node_id].build_input = _same_scope
    graph.end_input = _same_scope
    return graph.compile(mode="dag", name=name), runners


def _same_scope(parts: dict[str, Any]) -> Any:
    """A join's predecessors all pass the same scope: take it once."""
    return next(iter(parts.values()))


class CompiledWorkflow:
    """A validated document compiled to a compose graph; runs many times, concurrently."""

    def __init__(self, doc: WorkflowDoc) -> None:
        self.doc = doc
        start = next(n for n in doc.nodes if n.type == "start")
        end = next(n for n in doc.nodes if n.type == "end")
        self.end_id = end.id
        self.answer_mode = end.config.get("mode") == "answer"
        self.graph, self.runners = _build(doc.name, doc.nodes, doc.edges, [start.id], None)
        self._invoke = graph_runner(self.graph, streaming=False)
        self._stream = graph_runner(self.graph, streaming=True)

    # -- inputs ---------------------------------------------------------------------------------------
    def check_inputs(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs with defaults filled in; every mismatch with the declared parameters at once."""
        problems: list[str] = []
        checked: dict[str, Any] = {}
        declared = {param.name: param for param in self.doc.inputs}
        for name in inputs:
            if name not in declared:
                known = ", ".join(declared) or "none"
                problems.append(f"{name}: not a parameter of workflow {self.doc.name!r} (parameters: {known})")
        for name, param in declared.items():
            value = inputs.get(name, param.default)
            if value is None:
                if param.required:
                    problems.append(f"{name}: required ({param.type}) and missing")
                continue
            if not matches(value, param.type):
                problems.append(f"{name}: should be {param.type}, got {describe(value)}")
            checked[name] = value
        if problems:
            raise WorkflowInputError("bad workflow inputs: " + "; ".join(problems))
        return checked

    def new_state(
        self, inputs: Mapping[str, Any], run_id: str | None = None, system: Mapping[str, Any] | None = None
    ) -> RunState:
        return RunState(
            run_id=run_id or uuid.uuid4().hex,
            workflow=self.doc.name,
            inputs=self.check_inputs(inputs),
            system=dict(system or {}),
            variables={v.name: v.default for v in self.doc.variables},
            started_at=time.time(),
        )

    # -- running --------------------------------------------------------------------------------------
    def events(
        self,
        inputs: Mapping[str, Any],
        *,
        services: Services | None = None,
        run_id: str | None = None,
        system: Mapping[str, Any] | None = None,
        checkpointer: Checkpointer | None = None,
        stream: bool = False,
    ) -> AsyncIterator[RunEvent]:
        state = self.new_state(inputs, run_id, system)
        return self._follow(state, services, checkpointer, stream)

    async def resume_events(
        self,
        run_id: str,
        answers: Any = None,
        *,
        checkpointer: Checkpointer,
        services: Services | None = None,
        stream: bool = False,
    ) -> AsyncIterator[RunEvent]:
        state = await checkpointer.load(run_id)
        if state is None:
            raise WorkflowInputError(f"no saved run {run_id!r}")
        if state.status in ("succeeded", "failed"):
            raise WorkflowInputError(f"run {run_id} already {state.status}; nothing to resume")
        _answer(state, answers)
        async for event in self._follow(state, services, checkpointer, stream):
            yield event

    async def outputs(
        self,
        inputs: Mapping[str, Any],
        *,
        services: Services | None = None,
        system: Mapping[str, Any] | None = None,
        emit: Any = None,
    ) -> dict[str, Any]:
        """Run without following events (a sub-workflow); a failure raises ``WorkflowRunError``."""
        state = self.new_state(inputs, None, system)
        run = Run(state=state, services=services or Services(), emit=emit, checkpointer=None, streaming=False, calls={})
        final = await self._execute(run)
        if isinstance(final, RunFailed):
            raise WorkflowRunError(final.error, node_id=final.node_id)
        if final is None:
            raise WorkflowRunError(f"workflow {self.doc.name!r} waits for an answer; sub-workflows cannot pause")
        return final.outputs

    async def _follow(
        self, state: RunState, services: Services | None, checkpointer: Checkpointer | None, stream: bool
    ) -> AsyncIterator[RunEvent]:
        queue: asyncio.Queue[RunEvent | None] = asyncio.Queue()
        run = Run(
            state=state,
            services=services or Services(),
            emit=queue.put_nowait,
            checkpointer=checkpointer,
            streaming=stream,
            calls={},
        )

        async def drive() -> None:
            try:
                final = await self._execute(run)
                if final is not None:
                    queue.put_nowait(final)
            finally:
                queue.put_nowait(None)

        task = asyncio.ensure_future(drive())
        try:
            while True:
                event = await queue.get()
                if event is None:
                    break
                yield event
            await task
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _execute(self, run: Run) -> RunFinished | RunFailed | None:
        """Run the graph; the final event, or None when the run paused for answers."""
        state = run.state
        state.status = "running"
        state.interrupts = []
        began = time.perf_counter()
        scope = Scope(run)
        try:
            await (self._stream if run.streaming else self._invoke)(scope)
            final = self._final(scope, began)
        except GraphRunError as exc:
            final = _failure(state, exc, began)
        if state.interrupts:
            state.status = "interrupted"
            if run.checkpointer is not None:
                await run.checkpointer.save(state, "interrupt", None)
            return None
        if isinstance(final, RunFinished):
            state.status, state.outputs, state.answer = "succeeded", final.outputs, final.answer
        else:
            state.status, state.error = "failed", final.error
        if run.checkpointer is not None:
            await run.checkpointer.save(state, "finished" if state.status == "succeeded" else "failed", None)
        return final

    def _final(self, scope: Scope, began: float) -> RunFinished | RunFailed:
        state = scope.run.state
        outputs = scope.outputs.get(self.end_id)
        if outputs is None:
            if state.interrupts:
                return RunFailed(run_id=state.run_id, error="interrupted", duration=0.0)
            return RunFailed(
                run_id=state.run_id,
                error=f"the run ended without reaching the end node {self.end_id!r} (no branch led to it)",
                duration=time.perf_counter() - began,
            )
        answer = outputs.get("answer") if self.answer_mode else None
        return RunFinished(
            run_id=state.run_id,
            outputs=dict(outputs),
            duration=time.perf_counter() - began,
            answer=answer if isinstance(answer, str) else None,
        )


def _failure(state: RunState, exc: GraphRunError, began: float) -> RunFailed:
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, NodeFailedError):
        cause = getattr(cause, "cause", None) or cause.__cause__
    if isinstance(cause, NodeFailedError):
        return RunFailed(
            run_id=state.run_id, error=str(cause), duration=time.perf_counter() - began, node_id=cause.node_id
        )
    return RunFailed(
        run_id=state.run_id,
        error=str(exc),
        duration=time.perf_counter() - began,
        node_id=exc.path[-1] if exc.path else None,
        error_type=type(exc.cause or exc).__name__,
    )


def _answer(state: RunState, answers: Any) -> None:
    """File the answers to a paused run's interrupts under the nodes that asked."""
    pending = state.interrupts
    if not pending:
        if answers is not None:
            raise WorkflowInputError(f"run {state.run_id} is not waiting for an answer")
        return
    if len(pending) == 1 and not (isinstance(answers, Mapping) and pending[0].interrupt_id in answers):
        by_node = {pending[0].node_id: answers}
    else:
        if not isinstance(answers, Mapping):
            ids = ", ".join(p.interrupt_id for p in pending)
            raise WorkflowInputError(f"run {state.run_id} waits for {len(pending)} answers: give a dict keyed by {ids}")
        by_node = {}
        for item in pending:
            for key in (item.interrupt_id, item.node_id):
                if key in answers:
                    by_node[item.node_id] = answers[key]
        unknown = set(answers) - {p.interrupt_id for p in pending} - {p.node_id for p in pending}
        if unknown:
            raise WorkflowInputError(f"run {state.run_id} does not wait for {', '.join(sorted(map(str, unknown)))}")
    for node_key, answer in by_node.items():
        state.answers.setdefault(node_key, []).append(answer)
