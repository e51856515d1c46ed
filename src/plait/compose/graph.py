"""Building a graph: nodes, edges and branches. ``compile`` checks it and hands back a runnable.

Data flows along edges: a node receives its predecessor's output, and a node with several predecessors
receives their dict outputs merged. With a ``state`` schema the graph is a state machine instead: every
node receives the current state and returns an update that reducers fold in, and edges only say who
runs next.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from plait.compose.errors import GraphSetupError
from plait.compose.policy import RetryPolicy
from plait.compose.runnable import Runnable, as_runnable
from plait.compose.state import StateSchema

if TYPE_CHECKING:
    from plait.compose.checkpoint import Checkpointer
    from plait.compose.compiled import CompiledGraph

I = TypeVar("I")
O = TypeVar("O")

START = "__start__"
END = "__end__"
_RESERVED = frozenset({START, END})

Condition = Callable[[Any], "str | Sequence[str] | Awaitable[str | Sequence[str]]"]
Mode = Literal["auto", "dag", "pregel"]


@dataclass(slots=True, kw_only=True)
class NodeSpec:
    name: str
    runnable: Runnable[Any, Any]
    timeout: float | None = None
    retry: RetryPolicy | None = None
    input_key: str | None = None
    output_key: str | None = None
    build_input: Callable[[dict[str, Any]], Any] | None = None


@dataclass(slots=True, kw_only=True)
class BranchSpec:
    source: str
    condition: Condition
    targets: dict[str, str]  # what the condition returns -> node name


class Graph(Generic[I, O]):
    """A graph under construction. Methods return the graph, so calls can be chained."""

    def __init__(
        self,
        *,
        state: Any = None,
        name: str = "graph",
        input_type: Any = Any,
        output_type: Any = Any,
    ) -> None:
        self.name = name
        self.input_type = input_type
        self.output_type = output_type
        self.state = StateSchema.of(state) if state is not None else None
        self.nodes: dict[str, NodeSpec] = {}
        self.edges: list[tuple[str, str]] = []
        self.branches: dict[str, BranchSpec] = {}
        self.end_input: Callable[[dict[str, Any]], Any] | None = None  # set by Workflow

    def add_node(
        self,
        name: str,
        node: Any,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        input_key: str | None = None,
        output_key: str | None = None,
    ) -> Graph[I, O]:
        """Add a component, compiled graph or callable. ``input_key`` picks one key of the input;
        ``output_key`` wraps the output as ``{output_key: output}`` (handy before a fan-in)."""
        if not isinstance(name, str) or not name:
            raise GraphSetupError(f"node name must be a non-empty string, got {name!r}")
        if name in _RESERVED:
            raise GraphSetupError(f"{name!r} is reserved; use START and END only in edges")
        if name in self.nodes:
            raise GraphSetupError(f"node {name!r} is already in the graph")
        if timeout is not None and timeout <= 0:
            raise GraphSetupError(f"node {name!r}: timeout must be positive, got {timeout}")
        self.nodes[name] = NodeSpec(
            name=name,
            runnable=as_runnable(node, name=name),
            timeout=timeout,
            retry=retry,
            input_key=input_key,
            output_key=output_key,
        )
        return self

    def add_edge(self, source: str, target: str) -> Graph[I, O]:
        if source == END:
            raise GraphSetupError("END has no outgoing edges")
        if target == START:
            raise GraphSetupError("START has no incoming edges")
        if (source, target) in self.edges:
            raise GraphSetupError(f"edge {source} -> {target} is already in the graph")
        self.edges.append((source, target))
        return self

    def add_branch(self, source: str, condition: Condition, targets: Iterable[str] | Mapping[str, str]) -> Graph[I, O]:
        """After ``source``, run the node(s) ``condition(output)`` names (the state, in a state graph).

        ``targets`` lists the allowed nodes, or maps what the condition returns to node names.
        """
        if source == END:
            raise GraphSetupError("END cannot branch")
        if source in self.branches:
            raise GraphSetupError(f"node {source!r} already has a branch; one branch per node")
        if not callable(condition):
            raise GraphSetupError(f"branch after {source!r}: condition {condition!r} is not callable")
        mapping = dict(targets) if isinstance(targets, Mapping) else {t: t for t in targets}
        if not mapping:
            raise GraphSetupError(f"branch after {source!r} has no targets")
        self.branches[source] = BranchSpec(source=source, condition=condition, targets=mapping)
        return self

    def compile(
        self,
        *,
        mode: Mode = "auto",
        checkpointer: Checkpointer | None = None,
        interrupt_before: Iterable[str] = (),
        interrupt_after: Iterable[str] = (),
        max_steps: int | None = None,
        name: str | None = None,
    ) -> CompiledGraph[I, O]:
        """Validate the graph and build its run plan once; the result can be run many times, concurrently.

        ``mode``: "dag" runs each node once, when all its predecessors are done; "pregel" runs in
        supersteps and allows cycles, bounded by ``max_steps``; "auto" picks dag unless there is a cycle.
        """
        from plait.compose.compiled import CompiledGraph
        from plait.compose.plan import build_plan

        plan = build_plan(
            self,
            mode=mode,
            checkpointer=checkpointer,
            interrupt_before=frozenset(interrupt_before),
            interrupt_after=frozenset(interrupt_after),
            max_steps=max_steps,
            name=name or self.name,
        )
        return CompiledGraph(plan)
