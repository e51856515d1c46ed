"""What happens when one node of a workflow runs: its references resolved from the run's variable pool, retries,
timeout and error policy applied, events emitted, its record saved, and its branch chosen.

Nodes read any earlier node's outputs (not only their predecessors'), so data does not travel along the compose
graph's edges: every compose node receives and returns the run's ``Scope``, and the edges only order the nodes
and carry the branch decisions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plait.workflows.dsl import ERROR_HANDLE, SYSTEM, VARIABLES, Input, Node, Reference
from plait.workflows.errors import WorkflowRunError
from plait.workflows.events import (
    Interrupted,
    MessageOut,
    NodeChunk,
    NodeFailed,
    NodeFinished,
    NodeStarted,
    NodeStatus,
    RunEvent,
)
from plait.workflows.nodes.base import BodyRun, Control, NodeResult, NodeType, Services, WorkflowInterrupt
from plait.workflows.state import Checkpointer, NodeRecord, PendingInterrupt, RunState
from plait.workflows.types import describe, matches

if TYPE_CHECKING:
    from plait.compose import CompiledGraph

Emit = Callable[[RunEvent], None]


class NodeFailedError(WorkflowRunError):
    """A node failed and its policy fails the run (``NodeFailed`` was emitted already)."""


class BodyPaused(WorkflowInterrupt):
    """A node inside a body waits for a person; its interrupt is recorded, so the container only pauses."""


@dataclass(slots=True)
class Run:
    """What all scopes of one run share."""

    state: RunState
    services: Services
    emit: Emit | None
    checkpointer: Checkpointer | None
    streaming: bool
    calls: dict[str, int]  # interrupt calls per node key in this attempt, to hand out answers in order
    messages: int = 0


class Scope:
    """The variable pool of a run, or of one iteration of a container's body (which sees its parent's)."""

    __slots__ = ("blocked", "choices", "container", "control", "index", "locals", "outputs", "parent", "path", "run")

    def __init__(
        self,
        run: Run,
        *,
        parent: Scope | None = None,
        container: str | None = None,
        locals: dict[str, Any] | None = None,
        index: int | None = None,
    ) -> None:
        self.run = run
        self.parent = parent
        self.container = container
        self.locals = locals or {}
        self.index = index
        self.path: tuple[str, ...] = () if parent is None or container is None else (*parent.path, container)
        self.outputs: dict[str, dict[str, Any]] = {}
        self.choices: dict[str, list[str]] = {}
        self.blocked: set[str] = set()
        self.control: Control | None = None

    @property
    def top(self) -> bool:
        return self.parent is None

    def lookup(self, ref: Reference) -> Any:
        source = ref.node
        if source == VARIABLES:
            return _walk(self.run.state.variables, ref.output)
        if source == SYSTEM:
            return _walk(self.run.state.system, ref.output)
        scope: Scope | None = self
        while scope is not None:
            if source == scope.container:
                return _walk(scope.locals, ref.output)
            found = scope.outputs.get(source)
            if found is not None:
                return _walk(found, ref.output)
            scope = scope.parent
        return None  # the node was skipped by a branch: its outputs are null, as in Coze and Dify

    def value_of(self, item: Input) -> Any:
        return self.lookup(item.ref) if item.ref is not None else item.value

    def choose(self, node_id: str) -> list[str]:
        return self.choices.get(node_id, [])


def _walk(value: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list | tuple) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


class NodeRunner:
    """One node of a compiled workflow: the callable its compose node runs."""

    __slots__ = ("body", "config", "handles", "inputs", "kind", "node", "preds", "routed")

    def __init__(
        self,
        node: Node,
        kind: NodeType[Any],
        config: Any,
        preds: tuple[str, ...],
        handles: dict[str | None, list[str]],
        body: Any,
    ) -> None:
        self.node = node
        self.kind = kind
        self.config = config
        self.inputs = tuple(node.inputs.items())
        self.preds = preds
        self.handles = handles
        self.routed = any(handle is not None for handle in handles)  # its edges go through a compose branch
        self.body = body  # a CompiledBody for containers

    def route(self, scope: Scope) -> list[str]:
        return scope.choose(self.node.id)

    async def __call__(self, scope: Scope) -> Scope:
        node_id = self.node.id
        if scope.parent is None:
            record = scope.run.state.nodes.get(node_id)
            if record is not None:  # finished before the run was resumed
                scope.outputs[node_id] = record.outputs
                self._choose(scope, record.branch)
                return scope
        if scope.control is not None or (scope.blocked and any(p in scope.blocked for p in self.preds)):
            scope.blocked.add(node_id)
            self._choose(scope, None, nowhere=True)
            return scope
        inputs = {name: scope.value_of(item) for name, item in self.inputs}
        run = scope.run
        emit = run.emit
        started_at = time.time()
        began = time.perf_counter()
        if emit is not None:
            emit(self._started(scope, inputs, started_at))
        result, attempts, error = await self._attempts(scope, inputs)
        if result is None:
            scope.blocked.add(node_id)
            self._choose(scope, None, nowhere=True)
            return scope
        duration = time.perf_counter() - began
        status: NodeStatus = "succeeded"
        if error is not None:
            result, status = self._recover(scope, inputs, error, started_at, duration, attempts)
        scope.outputs[node_id] = result.outputs
        if result.control is not None:
            scope.control = result.control
        if emit is not None:
            emit(
                NodeFinished(
                    run_id=run.state.run_id,
                    node_id=node_id,
                    node_type=self.node.type,
                    inputs=inputs,
                    outputs=result.outputs,
                    branch=result.branch,
                    started_at=started_at,
                    duration=duration,
                    attempts=attempts,
                    status=status,
                    error=_describe(error) if error is not None else None,
                    path=scope.path,
                    index=scope.index,
                )
            )
        self._choose(scope, result.branch)
        if scope.parent is None:
            run.state.nodes[node_id] = NodeRecord(
                outputs=result.outputs,
                branch=result.branch,
                status=status,
                started_at=started_at,
                duration=duration,
                attempts=attempts,
                error=_describe(error) if error is not None else None,
            )
            if run.checkpointer is not None:
                await run.checkpointer.save(run.state, "node", node_id)
        return scope

    async def _attempts(self, scope: Scope, inputs: dict[str, Any]) -> tuple[NodeResult | None, int, Exception | None]:
        """Run with retries and the timeout: the result, or None when the node paused for a person."""
        node = self.node
        ctx = RunContext(scope, self)
        attempts = 0
        while True:
            attempts += 1
            try:
                _check_inputs(node, inputs)
                if node.timeout is None:
                    result = await self.kind.run(ctx, inputs, self.config)
                else:
                    async with asyncio.timeout(node.timeout):
                        result = await self.kind.run(ctx, inputs, self.config)
                if node.outputs:
                    _check_outputs(node, result.outputs)
                return result, attempts, None
            except WorkflowInterrupt as paused:
                if not isinstance(paused, BodyPaused):
                    self._pause(scope, paused)
                return None, attempts, None
            except Exception as exc:
                error = TimeoutError(f"timed out after {node.timeout:g}s") if isinstance(exc, TimeoutError) else exc
                if attempts >= node.retry.max_attempts:
                    return NodeResult(), attempts, error
            if node.retry.delay:
                await asyncio.sleep(node.retry.delay)

    def _recover(
        self, scope: Scope, inputs: dict[str, Any], error: Exception, started_at: float, duration: float, attempts: int
    ) -> tuple[NodeResult, NodeStatus]:
        """Apply the node's error policy: fail the run, or go on with default or error outputs."""
        policy = self.node.on_error
        failure = {"message": _describe(error), "type": type(error).__name__}
        if policy.mode == "default":
            return NodeResult(outputs={**policy.default, "error": failure}), "defaulted"
        if policy.mode == "branch":
            return NodeResult(outputs={"error": failure}, branch=ERROR_HANDLE), "error_branch"
        run = scope.run
        if run.emit is not None:
            run.emit(
                NodeFailed(
                    run_id=run.state.run_id,
                    node_id=self.node.id,
                    node_type=self.node.type,
                    inputs=inputs,
                    error=failure["message"],
                    error_type=failure["type"],
                    started_at=started_at,
                    duration=duration,
                    attempts=attempts,
                    path=scope.path,
                    index=scope.index,
                )
            )
        where = "/".join((*scope.path, self.node.id))
        raise NodeFailedError(f"node {where} failed: {failure['message']}", node_id=self.node.id) from error

    def _pause(self, scope: Scope, paused: WorkflowInterrupt) -> None:
        run = scope.run
        key = "/".join((*scope.path, self.node.id))
        number = run.calls.get(key, 1) - 1
        pending = PendingInterrupt(interrupt_id=f"{key}#{number}", node_id=key, kind=paused.kind, data=paused.data)
        run.state.interrupts.append(pending)
        if run.emit is not None:
            run.emit(
                Interrupted(
                    run_id=run.state.run_id,
                    node_id=self.node.id,
                    interrupt_id=pending.interrupt_id,
                    kind=paused.kind,
                    data=paused.data,
                    path=scope.path,
                )
            )

    def _choose(self, scope: Scope, branch: str | None, *, nowhere: bool = False) -> None:
        if self.routed:
            scope.choices[self.node.id] = [] if nowhere else self.handles.get(branch, [])

    def _started(self, scope: Scope, inputs: dict[str, Any], started_at: float) -> NodeStarted:
        return NodeStarted(
            run_id=scope.run.state.run_id,
            node_id=self.node.id,
            node_type=self.node.type,
            title=self.node.title,
            inputs=inputs,
            started_at=started_at,
            path=scope.path,
            index=scope.index,
        )


def _check_inputs(node: Node, inputs: Mapping[str, Any]) -> None:
    for name, item in node.inputs.items():
        value = inputs[name]
        if item.type is not None and value is not None and not matches(value, item.type):
            raise TypeError(f"input {name!r} should be {item.type}, got {describe(value)}")


def _check_outputs(node: Node, outputs: Mapping[str, Any]) -> None:
    """A node's declared outputs are a contract: a missing or mistyped one fails the node (and can be retried)."""
    for param in node.outputs:
        value = outputs.get(param.name)
        if value is None:
            if param.required:
                raise TypeError(f"output {param.name!r} ({param.type}) is missing")
        elif not matches(value, param.type):
            raise TypeError(f"output {param.name!r} should be {param.type}, got {describe(value)}")


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return text if text else type(exc).__name__


class RunContext:
    """The ``NodeContext`` a node type runs with."""

    __slots__ = ("_iterations", "_message", "_runner", "_scope")

    def __init__(self, scope: Scope, runner: NodeRunner) -> None:
        self._scope = scope
        self._runner = runner
        self._message: str | None = None
        self._iterations = 0

    @property
    def run_id(self) -> str:
        return self._scope.run.state.run_id

    @property
    def node_id(self) -> str:
        return self._runner.node.id

    @property
    def services(self) -> Services:
        return self._scope.run.services

    @property
    def variables(self) -> MutableMapping[str, Any]:
        return self._scope.run.state.variables

    @property
    def run_inputs(self) -> Mapping[str, Any]:
        return self._scope.run.state.inputs

    @property
    def streaming(self) -> bool:
        return self._scope.run.streaming

    @property
    def system(self) -> Mapping[str, Any]:
        return self._scope.run.state.system

    def emit_chunk(self, chunk: Any) -> None:
        scope = self._scope
        if scope.run.emit is not None:
            scope.run.emit(
                NodeChunk(run_id=self.run_id, node_id=self.node_id, chunk=chunk, path=scope.path, index=scope.index)
            )

    def emit_message(self, content: Any, *, role: str = "assistant", stream_end: bool = True) -> None:
        run = self._scope.run
        if self._message is None:
            run.messages += 1
            self._message = f"{run.state.run_id}-m{run.messages}"
        if run.emit is not None:
            run.emit(
                MessageOut(
                    run_id=run.state.run_id,
                    node_id=self.node_id,
                    message_id=self._message,
                    content=content,
                    role=role,
                    stream_end=stream_end,
                )
            )
        if stream_end:
            self._message = None

    def interrupt(self, kind: str, data: Any = None) -> Any:
        run = self._scope.run
        key = "/".join((*self._scope.path, self.node_id))
        number = run.calls.get(key, 0)
        run.calls[key] = number + 1
        answers = run.state.answers.get(key, ())
        if number < len(answers):
            return answers[number]
        raise WorkflowInterrupt(self.node_id, kind, data)

    def resolve(self, value: Any) -> Any:
        return self._scope.value_of(Input.model_validate(value))

    async def run_body(self, variables: Mapping[str, Any], *, index: int | None = None) -> BodyRun:
        body = self._runner.body
        if body is None:
            raise WorkflowRunError(f"node {self.node_id} ({self._runner.node.type}) has no body", node_id=self.node_id)
        if index is None:
            index = self._iterations
        self._iterations += 1
        child = Scope(self._scope.run, parent=self._scope, container=self.node_id, locals=dict(variables), index=index)
        await body.run(child)
        if child.blocked and self._scope.run.state.interrupts:
            raise BodyPaused(self.node_id, "body", None)
        return BodyRun(outputs=child.outputs, control=child.control)

    async def run_workflow(self, doc: Any, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        from plait.workflows.compiler import compile_workflow

        compiled = compile_workflow(doc)
        return await compiled.outputs(inputs, services=self.services, system=self.system, emit=None)


def graph_runner(graph: CompiledGraph[Any, Any], streaming: bool) -> Callable[[Scope], Any]:
    """Run a compiled compose graph over a scope, in invoke or stream mode."""
    if not streaming:
        return graph.ainvoke

    async def run(scope: Scope) -> Any:
        return await graph.astream(scope).concat()

    return run
