"""Everything wrong with a workflow document, as data: what an editor pins to the nodes while its author
types, before anything is saved (saving refuses the same problems as one 4000 message)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plait.workflows.compiler import compile_workflow, parse_doc
from plait.workflows.errors import Problem, WorkflowInvalid


def document_problems(data: Any) -> list[Problem]:
    """The problems ``catalog.create_workflow`` would refuse ``data`` for; empty when it can be saved and run."""
    if not isinstance(data, Mapping):
        return [Problem("invalid_document", "a workflow file is a mapping (name, inputs, nodes, edges...)")]
    try:
        compile_workflow(parse_doc(data))
    except WorkflowInvalid as exc:
        return list(exc.problems)
    return []
