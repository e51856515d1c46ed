"""Compile: check a built graph and turn it into the plan the engine runs without further checks."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plait.compose.errors import GraphSetupError
from plait.compose.graph import END, START, BranchSpec, Mode, NodeSpec
from plait.compose.policy import with_retry, with_timeout
from plait.compose.runnable import Lambda, Runnable, is_async_callable
from plait.compose.state import StateSchema
from plait.compose.typing_rules import accepts, gives_mapping
from plait.schema import StreamReader

if TYPE_CHECKING:
    from plait.compose.checkpoint import Checkpointer
    from plait.compose.graph import Graph

DEFAULT_MAX_STEPS = 100


class NodeDeadline(TimeoutError):
    """A node's own timeout expired; the engine reports it as ``NodeTimeoutError`` with the node's path."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"timed out after {timeout:g}s")
        self.timeout = timeout


@dataclass(slots=True)
class PlanBranch:
    condition: Callable[[Any], Any]
    is_async: bool
    targets: dict[str, str]


@dataclass(slots=True)
class PlanNode:
    name: str
    runnable: Runnable[Any, Any]
    invoke: Callable[[Any], Awaitable[Any]]
    sync_invoke: Callable[[Any], Any] | None
    transform: Callable[[StreamReader[Any]], Awaitable[StreamReader[Any]]]
    edges: tuple[str, ...]
    successors: tuple[str, ...]  # edges and branch targets, each once
    branch: PlanBranch | None
    preds: int
    build_input: Callable[[dict[str, Any]], Any] | None
    is_subgraph: bool


@dataclass(slots=True)
class Plan:
    name: str
    signature: str
    nodes: dict[str, PlanNode]  # START is a node with a pass-through body
    end_preds: int
    end_input: Callable[[dict[str, Any]], Any] | None
    pregel: bool
    state: StateSchema | None
    checkpointer: Checkpointer | None
    interrupt_before: frozenset[str]
    interrupt_after: frozenset[str]
    max_steps: int
    input_type: Any
    output_type: Any


def build_plan(
    graph: Graph[Any, Any],
    *,
    mode: Mode,
    checkpointer: Checkpointer | None,
    interrupt_before: frozenset[str],
    interrupt_after: frozenset[str],
    max_steps: int | None,
    name: str,
) -> Plan:
    specs = graph.nodes
    if not specs:
        raise GraphSetupError(f"graph {name!r} has no nodes")
    known = set(specs) | {START, END}
    for source, target in graph.edges:
        for end in (source, target):
            if end not in known:
                raise GraphSetupError(f"edge {source} -> {target} names unknown node {end!r}")
    for branch in graph.branches.values():
        if branch.source not in known:
            raise GraphSetupError(f"branch from unknown node {branch.source!r}")
        for target in branch.targets.values():
            if target not in known or target == START:
                raise GraphSetupError(f"branch after {branch.source!r} targets unknown node {target!r}")

    successors: dict[str, list[str]] = {n: [] for n in (START, *specs)}
    edges: dict[str, list[str]] = {n: [] for n in (START, *specs)}
    for source, target in graph.edges:
        edges[source].append(target)
        successors[source].append(target)
    for branch in graph.branches.values():
        for target in branch.targets.values():
            if target not in successors[branch.source]:
                successors[branch.source].append(target)

    if not successors[START]:
        raise GraphSetupError(f"graph {name!r}: nothing follows START; add_edge(START, <first node>)")
    reachable = _reachable(successors)
    unreachable = [n for n in specs if n not in reachable]
    if unreachable:
        raise GraphSetupError(f"graph {name!r}: nodes not reachable from START: {', '.join(unreachable)}")
    if END not in reachable:
        raise GraphSetupError(f"graph {name!r}: END cannot be reached from START")
    dead_ends = [n for n in specs if not successors[n]]
    if dead_ends:
        raise GraphSetupError(f"graph {name!r}: nodes with no outgoing edge or branch: {', '.join(dead_ends)}")

    cyclic = _has_cycle(successors)
    if mode == "dag" and cyclic:
        raise GraphSetupError(f"graph {name!r} has a cycle; compile with mode='pregel' to allow loops")
    pregel = mode == "pregel" or (mode == "auto" and cyclic)

    unknown_interrupts = (interrupt_before | interrupt_after) - set(specs)
    if unknown_interrupts:
        raise GraphSetupError(f"interrupt on unknown nodes: {', '.join(sorted(unknown_interrupts))}")
    if (interrupt_before or interrupt_after) and checkpointer is None:
        raise GraphSetupError("interrupt_before/interrupt_after need a checkpointer to resume from")

    preds: dict[str, int] = dict.fromkeys((*specs, END), 0)
    for targets in successors.values():
        for target in targets:
            preds[target] += 1

    if graph.state is None:
        _check_types(graph, edges, successors, pregel)

    nodes: dict[str, PlanNode] = {
        START: _start_node(tuple(edges[START]), tuple(successors[START]), graph.branches.get(START))
    }
    for node_name, spec in specs.items():
        nodes[node_name] = _plan_node(
            spec,
            tuple(edges[node_name]),
            tuple(successors[node_name]),
            graph.branches.get(node_name),
            preds[node_name],
        )
    return Plan(
        name=name,
        signature=_signature(graph),
        nodes=nodes,
        end_preds=preds[END],
        end_input=graph.end_input,
        pregel=pregel,
        state=graph.state,
        checkpointer=checkpointer,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        max_steps=max_steps or (DEFAULT_MAX_STEPS if pregel else len(specs) + 2),
        input_type=graph.input_type,
        output_type=graph.output_type,
    )


def _reachable(successors: Mapping[str, list[str]], roots: Iterable[str] = (START,)) -> set[str]:
    seen = set(roots)
    stack = list(seen)
    while stack:
        for target in successors.get(stack.pop(), ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _has_cycle(successors: Mapping[str, list[str]]) -> bool:
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(node: str) -> bool:
        if node in done:
            return False
        if node in visiting:
            return True
        visiting.add(node)
        found = any(visit(t) for t in successors.get(node, ()))
        visiting.discard(node)
        done.add(node)
        return found

    return any(visit(n) for n in successors)


def _check_types(
    graph: Graph[Any, Any],
    edges: Mapping[str, list[str]],
    successors: Mapping[str, list[str]],
    pregel: bool,
) -> None:
    """Reject edges whose output type can never be the input type of their target.

    A DAG node that certainly hears from two or more predecessors (none of them behind a branch)
    receives their outputs merged, so those must be dicts.
    """
    conditional: set[str] = set()
    for branch in graph.branches.values():
        conditional |= _reachable(successors, branch.targets.values())
    certain_preds: dict[str, int] = {}
    for source, targets in edges.items():
        if source not in conditional:
            for target in targets:
                certain_preds[target] = certain_preds.get(target, 0) + 1

    def output_of(name: str) -> Any:
        if name == START:
            return graph.input_type
        spec = graph.nodes[name]
        return dict if spec.output_key else spec.runnable.output_type

    for source, targets in successors.items():
        out = output_of(source)
        for target in targets:
            if target == END:
                if graph.end_input is not None:
                    continue
                wanted, keyed = graph.output_type, False
            elif graph.nodes[target].build_input is not None:
                continue
            else:
                wanted, keyed = (
                    graph.nodes[target].runnable.input_type,
                    graph.nodes[target].input_key is not None,
                )
            merged = not pregel and certain_preds.get(target, 0) > 1
            edge = f"edge {_label(source)} -> {_label(target)}"
            if keyed or merged:
                if not gives_mapping(out):
                    why = "it merges several inputs, which must be dicts" if merged else "its input_key picks a key"
                    raise GraphSetupError(f"{edge}: {_label(source)} outputs {_name(out)}, but {why}")
                if merged and not keyed and not accepts(wanted, dict):
                    raise GraphSetupError(f"{edge}: {_label(target)} takes {_name(wanted)}, but receives merged dicts")
            elif not accepts(wanted, out):
                raise GraphSetupError(
                    f"{edge}: {_label(source)} outputs {_name(out)}, {_label(target)} takes {_name(wanted)}"
                )


def _label(node: str) -> str:
    return {START: "START", END: "END"}.get(node, node)


def _name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


def _signature(graph: Graph[Any, Any]) -> str:
    """A fingerprint of the graph's shape, stored in checkpoints so another graph cannot resume them."""
    shape = repr(
        (
            sorted(graph.nodes),
            sorted(graph.edges),
            sorted((b.source, sorted(b.targets.items())) for b in graph.branches.values()),
            graph.state is not None,
        )
    )
    return f"{graph.name}:{hashlib.sha256(shape.encode()).hexdigest()[:16]}"


def _branch(spec: BranchSpec | None) -> PlanBranch | None:
    if spec is None:
        return None
    return PlanBranch(condition=spec.condition, is_async=is_async_callable(spec.condition), targets=spec.targets)


def _start_node(edges: tuple[str, ...], successors: tuple[str, ...], branch: BranchSpec | None) -> PlanNode:
    passthrough: Lambda[Any, Any] = Lambda(lambda x: x, name=START)
    return PlanNode(
        name=START,
        runnable=passthrough,
        invoke=passthrough.ainvoke,
        sync_invoke=passthrough.sync_invoke,
        transform=passthrough._open_transform,
        edges=edges,
        successors=successors,
        branch=_branch(branch),
        preds=0,
        build_input=None,
        is_subgraph=False,
    )


def _plan_node(
    spec: NodeSpec,
    edges: tuple[str, ...],
    successors: tuple[str, ...],
    branch: BranchSpec | None,
    preds: int,
) -> PlanNode:
    from plait.compose.compiled import CompiledGraph

    runnable = spec.runnable
    invoke: Callable[[Any], Awaitable[Any]] = runnable.ainvoke
    transform: Callable[[StreamReader[Any]], Awaitable[StreamReader[Any]]] = runnable._open_transform
    sync_invoke = runnable.sync_invoke if isinstance(runnable, Lambda) else None

    if spec.input_key is not None or spec.output_key is not None:
        invoke, transform, sync_invoke = _keyed(spec, invoke, transform, sync_invoke)
    if spec.retry is not None or spec.timeout is not None:
        invoke, transform = _guarded(spec, invoke, transform)
        sync_invoke = None
    return PlanNode(
        name=spec.name,
        runnable=runnable,
        invoke=invoke,
        sync_invoke=sync_invoke,
        transform=transform,
        edges=edges,
        successors=successors,
        branch=_branch(branch),
        preds=preds,
        build_input=spec.build_input,
        is_subgraph=isinstance(runnable, CompiledGraph),
    )


def _keyed(
    spec: NodeSpec,
    invoke: Callable[[Any], Awaitable[Any]],
    transform: Callable[[StreamReader[Any]], Awaitable[StreamReader[Any]]],
    sync_invoke: Callable[[Any], Any] | None,
) -> tuple[
    Callable[[Any], Awaitable[Any]],
    Callable[[StreamReader[Any]], Awaitable[StreamReader[Any]]],
    Callable[[Any], Any] | None,
]:
    in_key, out_key = spec.input_key, spec.output_key

    def pick(value: Any) -> Any:
        if in_key is None:
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"input_key {in_key!r} needs a mapping input, got {type(value).__name__}")
        if in_key not in value:
            raise KeyError(f"input has no key {in_key!r} (keys: {', '.join(map(str, value))})")
        return value[in_key]

    def wrap(value: Any) -> Any:
        return value if out_key is None else {out_key: value}

    async def keyed_invoke(value: Any) -> Any:
        return wrap(await invoke(pick(value)))

    async def keyed_transform(reader: StreamReader[Any]) -> StreamReader[Any]:
        if in_key is not None:
            reader = StreamReader.from_value(pick(await reader.concat()))
        out = await transform(reader)
        return out if out_key is None else out.map(wrap)

    keyed_sync = None
    if sync_invoke is not None:
        fn = sync_invoke

        def keyed_sync(value: Any) -> Any:
            return wrap(fn(pick(value)))

    return keyed_invoke, keyed_transform, keyed_sync


def _guarded(
    spec: NodeSpec,
    invoke: Callable[[Any], Awaitable[Any]],
    transform: Callable[[StreamReader[Any]], Awaitable[StreamReader[Any]]],
) -> tuple[Callable[[Any], Awaitable[Any]], Callable[[StreamReader[Any]], Awaitable[StreamReader[Any]]]]:
    """Wrap a node in its timeout (innermost, per attempt) and retry policy.

    In stream mode the guard covers opening the stream; a stream input cannot be replayed, so a retried
    stream node first reads its input into a value.
    """
    from plait.compose.errors import GraphInterrupted, GraphSetupError
    from plait.compose.interrupt import NodeInterrupt

    timeout, retry = spec.timeout, spec.retry
    never_retry = (NodeInterrupt, GraphInterrupted, GraphSetupError)

    def guard(call: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
        attempt = call
        if timeout is not None:
            inner = attempt

            def attempt() -> Awaitable[Any]:
                return with_timeout(timeout, inner, lambda: NodeDeadline(timeout))

        if retry is not None:
            return with_retry(retry, attempt, never_retry)
        return attempt()

    async def guarded_invoke(value: Any) -> Any:
        return await guard(lambda: invoke(value))

    async def guarded_transform(reader: StreamReader[Any]) -> StreamReader[Any]:
        if retry is not None:
            value = await reader.concat()
            return await guard(lambda: transform(StreamReader.from_value(value)))  # type: ignore[no-any-return]
        return await guard(lambda: transform(reader))  # type: ignore[no-any-return]

    return guarded_invoke, guarded_transform
