"""Chain: a linear graph written as a sequence, with parallel steps and branches."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from plait.compose.compiled import CompiledGraph
from plait.compose.errors import GraphSetupError
from plait.compose.graph import END, START, Condition, Graph
from plait.compose.runnable import as_runnable

I = TypeVar("I")
O = TypeVar("O")


class Chain(Generic[I, O]):
    """``Chain().then(a).parallel(x=b, y=c).then(d).compile()``.

    ``parallel`` runs its nodes on the same input and outputs ``{key: output}``; ``branch`` runs the one
    node its condition picks. Each step follows all the nodes of the step before.
    """

    def __init__(self, *, name: str = "chain", input_type: Any = Any, output_type: Any = Any) -> None:
        self._graph: Graph[I, O] = Graph(name=name, input_type=input_type, output_type=output_type)
        self._tail: list[str] = [START]
        self._count = 0

    def then(self, node: Any, *, name: str | None = None, **options: Any) -> Chain[I, O]:
        """Append a node; ``options`` are ``Graph.add_node``'s (timeout, retry, input_key, output_key)."""
        node_name = self._add(node, name, **options)
        for source in self._tail:
            self._graph.add_edge(source, node_name)
        self._tail = [node_name]
        return self

    def parallel(self, nodes: Mapping[str, Any] | None = None, /, **named: Any) -> Chain[I, O]:
        """Run several nodes on the same input; the step's output is ``{key: that node's output}``."""
        branches = {**(nodes or {}), **named}
        if len(branches) < 2:
            raise GraphSetupError("parallel needs at least two nodes")
        names = []
        for key, node in branches.items():
            node_name = self._add(node, f"{key}", output_key=key)
            for source in self._tail:
                self._graph.add_edge(source, node_name)
            names.append(node_name)
        self._tail = names
        return self

    def branch(self, condition: Condition, branches: Mapping[str, Any]) -> Chain[I, O]:
        """Run the node that ``condition(output)`` names (a key of ``branches``); only it continues."""
        if not branches:
            raise GraphSetupError("branch needs at least one node")
        if len(self._tail) > 1:
            self.then(_join, name="join")
        names = {label: self._add(node, f"{label}") for label, node in branches.items()}
        self._graph.add_branch(self._tail[0], condition, names)
        self._tail = list(names.values())
        return self

    def compile(self, **options: Any) -> CompiledGraph[I, O]:
        """Compile the chain; ``options`` are ``Graph.compile``'s."""
        if self._tail == [START]:
            raise GraphSetupError("chain is empty; add a step with then()")
        for source in self._tail:
            self._graph.add_edge(source, END)
        try:
            return self._graph.compile(**options)
        finally:
            for source in self._tail:
                self._graph.edges.remove((source, END))

    def _add(self, node: Any, name: str | None, **options: Any) -> str:
        runnable = as_runnable(node)
        node_name = name or runnable.name
        if node_name in self._graph.nodes:
            node_name = f"{node_name}_{self._count}"
        self._count += 1
        self._graph.add_node(node_name, runnable, **options)
        return node_name


def _join(merged: dict[str, Any]) -> dict[str, Any]:
    """Receives the parallel step's outputs merged, so a branch can decide on all of them."""
    return merged
