"""Validation: every problem of a document at once, each with its node id and field.

Finds unknown node types, bad configs, edges to unknown nodes or handles, dangling references (unknown nodes,
nodes that never run before the reader, undeclared outputs or variables), type mismatches between an output
and the input it feeds, cycles (a cycle through a container's body back to the container is its loop, not an
error), unreachable nodes, and a missing or repeated start or end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from plait.workflows.dsl import ERROR_HANDLE, SYSTEM, VARIABLES, Edge, Node, Param, WorkflowDoc
from plait.workflows.errors import Problem
from plait.workflows.nodes.base import NodeType, get_node_type
from plait.workflows.types import compatible


def validate(doc: WorkflowDoc) -> list[Problem]:
    """All problems of ``doc``; an empty list means it can run."""
    checker = _Checker(doc)
    checker.run()
    return checker.problems


def shape_problems(error: ValidationError, data: Mapping[str, Any]) -> list[Problem]:
    """pydantic's errors as problems, with the node id in place of a list index where there is one."""
    problems = []
    for item in error.errors():
        loc = list(item["loc"])
        node_id = None
        if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
            nodes = data.get("nodes")
            raw = nodes[loc[1]] if isinstance(nodes, list) and loc[1] < len(nodes) else None
            node_id = str(raw.get("id")) if isinstance(raw, Mapping) and raw.get("id") else f"nodes[{loc[1]}]"
            loc = loc[2:]
        where = ".".join(str(part) for part in loc) or None
        problems.append(Problem("invalid_document", item["msg"], node_id, where))
    return problems


@dataclass
class _Graph:
    """One level of the document: the top level, or a container's body."""

    nodes: list[Node]
    edges: list[Edge]
    container: Node | None
    succ: dict[str, list[str]] = field(default_factory=dict)


class _Checker:
    def __init__(self, doc: WorkflowDoc) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.nodes: dict[str, Node] = {}
        self.parent: dict[str, str | None] = {}  # node id -> its container (None at the top level)
        self.types: dict[str, NodeType[Any]] = {}
        self.configs: dict[str, Any] = {}
        self.outputs: dict[str, dict[str, str] | None] = {}  # node id -> output name -> type (None: anything)
        self.before: dict[str, set[str]] = {}  # node id -> the nodes that always run before it can
        self.levels: list[_Graph] = []

    def add(self, code: str, message: str, node_id: str | None = None, where: str | None = None) -> None:
        self.problems.append(Problem(code, message, node_id, where))

    def run(self) -> None:
        self._collect(self.doc.nodes, self.doc.edges, None)
        self._check_start_end()
        for level in self.levels:
            self._check_edges(level)
        for level in self.levels:
            self._check_cycles_and_reach(level)
        for node in self.nodes.values():
            self._check_inputs(node)
        self._check_outputs()

    # -- nodes ----------------------------------------------------------------------------------------
    def _collect(self, nodes: Sequence[Node], edges: Sequence[Edge], container: Node | None) -> None:
        self.levels.append(_Graph(list(nodes), list(edges), container))
        for node in nodes:
            if node.id in self.nodes:
                self.add("duplicate_id", f"node id {node.id!r} is used more than once", node.id, "id")
                continue
            self.nodes[node.id] = node
            self.parent[node.id] = container.id if container is not None else None
            self._check_type(node)
            if node.body is not None:
                kind = self.types.get(node.id)
                if kind is not None and not kind.container:
                    self.add("unexpected_body", f"a {node.type} node has no body", node.id, "body")
                self._collect(node.body.nodes, node.body.edges, node)
            elif node.id in self.types and self.types[node.id].container:
                self.add("missing_body", f"a {node.type} node needs a body of nodes to run", node.id, "body")

    def _check_type(self, node: Node) -> None:
        kind = get_node_type(node.type)
        if kind is None:
            self.add("unknown_type", f"unknown node type {node.type!r}", node.id, "type")
            self.outputs[node.id] = None
            return
        self.types[node.id] = kind
        try:
            config = kind.parse_config(node.config)
        except ValidationError as exc:
            for item in exc.errors():
                where = ".".join(str(part) for part in ("config", *item["loc"]))
                self.add("invalid_config", item["msg"], node.id, where)
            self.outputs[node.id] = None
            return
        self.configs[node.id] = config
        declared = self.doc.inputs if node.type == "start" else kind.outputs(config, node.outputs)
        self.outputs[node.id] = None if declared is None else {p.name: p.type for p in declared}
        if node.on_error.mode != "fail" and declared is not None:
            self.outputs[node.id] = {**{p.name: p.type for p in declared}, "error": "object"}
        for where, message in kind.check(config, node.inputs, node.body):
            self.add("invalid_node", message, node.id, where)

    def _check_start_end(self) -> None:
        for kind in ("start", "end"):
            found = [n.id for n in self.doc.nodes if n.type == kind]
            if not found:
                self.add(f"missing_{kind}", f"the workflow has no {kind} node")
            for extra in found[1:]:
                self.add(f"extra_{kind}", f"the workflow has more than one {kind} node", extra, "type")
        for node in self.nodes.values():
            if node.type in ("start", "end") and self.parent[node.id] is not None:
                self.add("misplaced", f"a {node.type} node cannot be inside a body", node.id, "type")

    # -- edges, cycles, reach -------------------------------------------------------------------------
    def _check_edges(self, level: _Graph) -> None:
        ids = {n.id: n for n in level.nodes}  # in document order, so problems come out in a stable order
        container = level.container.id if level.container is not None else None
        level.succ = {node_id: [] for node_id in ids}
        for index, edge in enumerate(level.edges):
            where = f"edges[{index}]"
            owner = container if container is not None else None
            if edge.source != container and edge.source not in ids:
                self.add("dangling_edge", f"edge from unknown node {edge.source!r}", owner, where)
                continue
            if edge.target != container and edge.target not in ids:
                self.add("dangling_edge", f"edge to unknown node {edge.target!r}", edge.source, where)
                continue
            if edge.source == container or edge.target == container:
                continue  # into the body, or the end of an iteration
            self._check_handle(edge, where)
            if edge.target not in level.succ[edge.source]:
                level.succ[edge.source].append(edge.target)

    def _check_handle(self, edge: Edge, where: str) -> None:
        node = self.nodes[edge.source]
        handle = edge.source_handle
        if handle is None:
            return
        if handle == ERROR_HANDLE:
            if node.on_error.mode != "branch":
                self.add("bad_handle", "an error edge needs on_error mode 'branch'", node.id, where)
            return
        kind, config = self.types.get(node.id), self.configs.get(node.id)
        if kind is None or config is None:
            return
        branches = kind.branches(config)
        if branches is None or handle not in branches:
            allowed = ", ".join(branches or ()) or "none"
            self.add("bad_handle", f"{node.type} node has no branch {handle!r} (branches: {allowed})", node.id, where)

    def _check_cycles_and_reach(self, level: _Graph) -> None:
        succ = level.succ
        if level.container is None:
            roots = [n.id for n in level.nodes if n.type == "start"]
        else:
            roots = [e.target for e in level.edges if e.source == level.container.id and e.target in succ]
            if level.nodes and not roots:
                self.add("missing_body_entry", "no edge leads from the container into its body", level.container.id)
        self._check_cycles(succ)
        reached = _reach(roots, succ)
        for node in level.nodes:
            if node.id not in reached and (level.container is not None or roots):
                self.add("unreachable", "no path from the start leads to this node", node.id)
        self._order(level)

    def _check_cycles(self, succ: Mapping[str, list[str]]) -> None:
        state: dict[str, int] = {}
        reported: set[frozenset[str]] = set()

        def visit(node: str, stack: list[str]) -> None:
            state[node] = 1
            stack.append(node)
            for nxt in succ.get(node, ()):
                if state.get(nxt) == 1:
                    cycle = stack[stack.index(nxt) :]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        path = " -> ".join([*cycle, nxt])
                        self.add("cycle", f"cycle {path}; only a loop node's body may repeat", nxt)
                elif nxt not in state:
                    visit(nxt, stack)
            stack.pop()
            state[node] = 2

        for node in succ:
            if node not in state:
                visit(node, [])

    def _order(self, level: _Graph) -> None:
        """For each node, the nodes upstream of it (its ancestors, and the containers around it); a search per
        node rather than a topological pass, so a cycle elsewhere does not hide every reference's source."""
        preds: dict[str, list[str]] = {n: [] for n in level.succ}
        for source, targets in level.succ.items():
            for target in targets:
                preds[target].append(source)
        outer = self.before.get(level.container.id, set()) | {level.container.id} if level.container else set()
        for node_id in level.succ:
            # after a join a node may read any incoming path: a branch not taken reads as null, as in Coze
            self.before[node_id] = outer | (_reach(preds[node_id], preds) - {node_id})

    # -- references and types -------------------------------------------------------------------------
    def _check_inputs(self, node: Node) -> None:
        kind, config = self.types.get(node.id), self.configs.get(node.id)
        expected = {p.name: p for p in kind.inputs(config)} if kind is not None and config is not None else {}
        for name, param in expected.items():
            if param.required and name not in node.inputs:
                self.add("missing_input", f"input {name!r} ({param.type}) is required", node.id, f"inputs.{name}")
        for name, item in node.inputs.items():
            where = f"inputs.{name}"
            want = item.type or (expected[name].type if name in expected else None)
            if item.ref is None:
                continue
            got = self._ref_type(node, item.ref.node, item.ref.head, where)
            if got is not None and want is not None and "." not in item.ref.output and not compatible(got, want):
                source = f"{item.ref.node}.{item.ref.output}"
                self.add("type_mismatch", f"{source} is {got}, but input {name!r} takes {want}", node.id, where)

    def _ref_type(self, node: Node, source: str, output: str, where: str) -> str | None:
        """The referenced output's type (None: unknown), or a problem when the reference cannot resolve."""
        if source == VARIABLES:
            declared = {v.name: v.type for v in self.doc.variables}
            if output not in declared:
                self.add("dangling_reference", f"no variable {output!r} is declared", node.id, where)
            return declared.get(output)
        if source == SYSTEM:
            return None
        if source not in self.nodes:
            self.add("dangling_reference", f"reference to unknown node {source!r}", node.id, where)
            return None
        if source == node.id:
            self.add("dangling_reference", "a node cannot read its own outputs", node.id, where)
            return None
        if source not in self.before.get(node.id, set()) and source not in _containers_of(node.id, self.parent):
            self.add(
                "dangling_reference",
                f"node {source!r} is not upstream of this node (no path leads from it here)",
                node.id,
                where,
            )
            return None
        if source in _containers_of(node.id, self.parent):
            return None  # loop variables: the container type decides them at run time
        outputs = self.outputs.get(source)
        if outputs is None:
            return None
        if output not in outputs:
            known = ", ".join(outputs) or "none"
            self.add(
                "dangling_reference", f"node {source!r} has no output {output!r} (outputs: {known})", node.id, where
            )
            return None
        return outputs[output]

    def _check_outputs(self) -> None:
        end = next((n for n in self.doc.nodes if n.type == "end"), None)
        if end is None:
            return
        for param in self.doc.outputs:
            if param.name not in end.inputs and end.config.get("mode", "variables") == "variables":
                self.add("missing_output", f"declared output {param.name!r} is not an input of the end node", end.id)


def _reach(roots: Iterable[str], succ: Mapping[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        node = todo.pop()
        if node in seen or node not in succ:
            continue
        seen.add(node)
        todo.extend(succ[node])
    return seen


def _containers_of(node_id: str, parent: Mapping[str, str | None]) -> set[str]:
    found = set()
    current = parent.get(node_id)
    while current is not None:
        found.add(current)
        current = parent.get(current)
    return found


__all__ = ["Param", "Problem", "shape_problems", "validate"]
