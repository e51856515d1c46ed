"""Workflow: a DAG whose nodes take their input from fields of other nodes' outputs (field mapping).

    wf = Workflow()
    wf.add_node("search", search).add_input(START, {"query": "question"})
    wf.add_node("answer", answer).add_input(START, {"question": "question"}).add_input("search", {"docs": ""})
    wf.end().add_input("answer")

A mapping is ``{target_path: source_path}``; dotted paths reach into nested dicts or attributes, and ""
is the whole value. ``add_input(source)`` with no mapping passes the whole output. ``add_dependency``
orders two nodes without passing data.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from plait.compose.compiled import CompiledGraph
from plait.compose.errors import GraphSetupError
from plait.compose.graph import END, START, Condition, Graph

I = TypeVar("I")
O = TypeVar("O")


@dataclasses.dataclass(slots=True)
class _Input:
    source: str
    fields: dict[str, str] | None  # None: the whole output


class WorkflowNode:
    """A node's inputs, declared one source at a time. Methods return the node for chaining."""

    def __init__(self, workflow: Workflow[Any, Any], name: str) -> None:
        self._workflow = workflow
        self.name = name
        self.inputs: list[_Input] = []
        self.dependencies: list[str] = []

    def add_input(self, source: str, fields: Mapping[str, str] | None = None) -> WorkflowNode:
        if fields is not None:
            if not fields:
                raise GraphSetupError(f"{self.name}: an empty field mapping from {source!r} passes nothing")
            for target, origin in fields.items():
                if not isinstance(target, str) or not target or not isinstance(origin, str):
                    raise GraphSetupError(f"{self.name}: bad field mapping {target!r}: {origin!r}")
        self.inputs.append(_Input(source, dict(fields) if fields is not None else None))
        return self

    def add_dependency(self, source: str) -> WorkflowNode:
        """Run after ``source`` without taking its output."""
        self.dependencies.append(source)
        return self


class Workflow(Generic[I, O]):
    """A DAG with field mapping between nodes; compiles to a graph in DAG mode."""

    def __init__(self, *, name: str = "workflow", input_type: Any = Any, output_type: Any = Any) -> None:
        self._graph: Graph[I, O] = Graph(name=name, input_type=input_type, output_type=output_type)
        self._nodes: dict[str, WorkflowNode] = {}
        self._end = WorkflowNode(self, END)

    def add_node(self, name: str, node: Any, **options: Any) -> WorkflowNode:
        """Add a node (``options`` as in ``Graph.add_node``) and return it to declare its inputs."""
        self._graph.add_node(name, node, **options)
        self._nodes[name] = WorkflowNode(self, name)
        return self._nodes[name]

    def end(self) -> WorkflowNode:
        """The workflow's output, declared like a node's input."""
        return self._end

    def add_branch(
        self, source: str, condition: Condition, targets: Iterable[str] | Mapping[str, str]
    ) -> Workflow[I, O]:
        """Only the targets the condition picks run; the others (and what depends on them alone) are skipped."""
        self._graph.add_branch(source, condition, targets)
        return self

    def compile(self, **options: Any) -> CompiledGraph[I, O]:
        graph = self._graph
        graph.edges = []
        branch_targets = {(b.source, t) for b in graph.branches.values() for t in b.targets.values()}
        for node in (*self._nodes.values(), self._end):
            sources = [i.source for i in node.inputs] + node.dependencies
            if not sources and (node.name == END or not _branch_only(node.name, branch_targets)):
                raise GraphSetupError(f"workflow node {node.name!r} has no input; add_input(START) at least")
            for source in dict.fromkeys(sources):
                if source != START and source not in graph.nodes:
                    raise GraphSetupError(f"{node.name!r} takes input from unknown node {source!r}")
                if (source, node.name) not in branch_targets:
                    graph.add_edge(source, node.name)
            self._check_fields(node)
            builder = _builder(node, self._input_class(node.name))
            if node.name == END:
                graph.end_input = builder
            else:
                graph.nodes[node.name].build_input = builder
        return graph.compile(mode="dag", **options)

    def _input_class(self, name: str) -> Any:
        if name == END:
            return None
        tp = self._graph.nodes[name].runnable.input_type
        return tp if isinstance(tp, type) and _field_names(tp) is not None and not typing.is_typeddict(tp) else None

    def _check_fields(self, node: WorkflowNode) -> None:
        """Field names that the declared types show cannot exist are setup errors, not run errors."""
        target_type = self._graph.output_type if node.name == END else self._graph.nodes[node.name].runnable.input_type
        target_fields = _field_names(target_type)
        for item in node.inputs:
            if item.fields is None:
                continue
            source_type = (
                self._graph.input_type if item.source == START else self._graph.nodes[item.source].runnable.output_type
            )
            source_fields = _field_names(source_type)
            for target, origin in item.fields.items():
                head = origin.split(".", 1)[0]
                if origin and source_fields is not None and head not in source_fields:
                    raise GraphSetupError(
                        f"{node.name!r} maps {item.source}.{origin}, but {item.source} outputs no field {head!r}"
                    )
                if target_fields is not None and target.split(".", 1)[0] not in target_fields:
                    raise GraphSetupError(f"{node.name!r} has no input field {target.split('.', 1)[0]!r}")


def _branch_only(name: str, branch_targets: set[tuple[str, str]]) -> bool:
    return any(target == name for _, target in branch_targets)


def _field_names(tp: Any) -> set[str] | None:
    if typing.is_typeddict(tp) or dataclasses.is_dataclass(tp):
        return set(typing.get_type_hints(tp))
    fields = getattr(tp, "model_fields", None)  # pydantic models
    return set(fields) if isinstance(fields, Mapping) else None


def _builder(node: WorkflowNode, input_class: Any) -> Callable[[dict[str, Any]], Any]:
    inputs = list(node.inputs)
    whole_only = all(i.fields is None for i in inputs) and len(inputs) == 1

    def build(parts: dict[str, Any]) -> Any:
        if whole_only:
            source = inputs[0].source
            if source not in parts:
                raise KeyError(f"{node.name!r} runs without its input: {source!r} was skipped")
            return parts[source]
        result: dict[str, Any] = {}
        for item in inputs:
            if item.source not in parts:
                continue
            value = parts[item.source]
            if item.fields is None:
                if not isinstance(value, Mapping):
                    raise TypeError(f"{item.source} gave {type(value).__name__}; merging whole outputs needs dicts")
                result.update(value)
                continue
            for target, origin in item.fields.items():
                _set_path(result, target, _get_path(value, origin, item.source))
        return input_class(**result) if input_class is not None else result

    return build


def _get_path(value: Any, path: str, source: str) -> Any:
    if not path:
        return value
    for part in path.split("."):
        if isinstance(value, Mapping):
            if part not in value:
                raise KeyError(f"output of {source} has no field {path!r}")
            value = value[part]
        elif hasattr(value, part):
            value = getattr(value, part)
        else:
            raise KeyError(f"output of {source} has no field {path!r}")
    return value


def _set_path(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
