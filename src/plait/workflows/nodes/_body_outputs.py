"""Reading a body run's results for a container (loop, batch): the outputs of body nodes named in its config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plait.workflows.dsl import Body, Reference
from plait.workflows.nodes.base import BodyRun

_MISSING = object()


def body_value(run: BodyRun, ref: Reference, default: Any = _MISSING) -> Any:
    """The output ``ref`` names in one body run; ``default`` when its node did not run (skipped by a branch, a
    continue or a break), or raise ``KeyError`` when no default is given."""
    outputs = run.outputs.get(ref.node)
    if outputs is None or ref.output not in outputs:
        if default is _MISSING:
            raise KeyError(f"{ref.node}.{ref.output}")
        return default
    return outputs[ref.output]


def reference_problems(refs: Mapping[str, Reference], where: str, body: Body | None) -> list[tuple[str, str]]:
    """References that cannot name a body node's output: a node outside the body, or a dotted path."""
    inside = {node.id for node in body.nodes} if body is not None else set()
    problems = []
    for name, ref in refs.items():
        if ref.node not in inside:
            problems.append((f"{where}.{name}", f"{ref.node!r} is not a node of the body"))
        elif "." in ref.output:
            problems.append((f"{where}.{name}", "name an output of the node, not a path into it"))
    return problems


def seen(runs: Sequence[BodyRun], ref: Reference) -> list[Any]:
    """The value ``ref`` names in each run where its node ran, in run order."""
    skipped = object()
    values = (body_value(run, ref, skipped) for run in runs)
    return [value for value in values if value is not skipped]
