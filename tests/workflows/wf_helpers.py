"""Building small workflow documents and running them, for the workflow tests."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from plait.models.registry import default_registry
from plait.workflows import RunEvent, Services, WorkflowDoc, run_workflow


def ref(node: str, output: str) -> dict[str, Any]:
    return {"ref": {"node": node, "output": output}}


def node(node_id: str, type_: str, inputs: Mapping[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "inputs": dict(inputs or {}), **fields}


def chain(*ids: str) -> list[dict[str, Any]]:
    return [{"source": a, "target": b} for a, b in itertools.pairwise(ids)]


def make_doc(
    nodes: Sequence[Mapping[str, Any]],
    edges: Sequence[Mapping[str, Any]],
    *,
    inputs: Sequence[Mapping[str, Any]] = ({"name": "q", "type": "string"},),
    outputs: Sequence[Mapping[str, Any]] = (),
    variables: Sequence[Mapping[str, Any]] = (),
) -> WorkflowDoc:
    return WorkflowDoc.model_validate(
        {
            "name": "test",
            "inputs": list(inputs),
            "outputs": list(outputs),
            "variables": list(variables),
            "nodes": [{"id": "start", "type": "start"}, *nodes],
            "edges": list(edges),
        }
    )


def services(extras: Mapping[type[Any], Any] | None = None, tools: Any = None) -> Services:
    return Services(models=default_registry(), tools=tools, extras=dict(extras or {}))


async def collect(doc: WorkflowDoc, inputs: Mapping[str, Any], **options: Any) -> list[RunEvent]:
    options.setdefault("services", services())
    return [event async for event in run_workflow(doc, inputs, **options)]


def one_node(type_: str, inputs: Mapping[str, Any], **fields: Any) -> WorkflowDoc:
    """start -> the node -> end, the end returning the node's outputs as ``result``."""
    return make_doc(
        [
            node("n", type_, inputs, **fields),
            node("end", "end", {"result": {"ref": {"node": "n", "output": "output"}}}),
        ],
        chain("start", "n", "end"),
        inputs=[{"name": "q", "type": "any", "required": False}],
    )
