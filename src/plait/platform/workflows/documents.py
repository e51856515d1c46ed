"""Workflow documents as the platform holds them: checked as a whole before they are stored (every problem
listed at once, so an author fixes a file in one round), and a run's parameters checked before anything is
stored or run. Published versions never change, so each is parsed and compiled once per process."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from plait.platform.errors import InvalidParams
from plait.workflows.compiler import compile_workflow, parse_doc
from plait.workflows.dsl import WorkflowDoc
from plait.workflows.errors import WorkflowInputError, WorkflowInvalid

CACHE_SIZE = 256
_versions: OrderedDict[tuple[str, str], WorkflowDoc] = OrderedDict()


def parse_document(data: Any) -> WorkflowDoc:
    """The document, validated and compiled, or InvalidParams (4000) naming each problem."""
    if not isinstance(data, Mapping):
        raise InvalidParams("document: must be an object (a workflow file's content)")
    try:
        doc = parse_doc(data)
        compile_workflow(doc)
    except WorkflowInvalid as exc:
        problems = "; ".join(str(problem) for problem in exc.problems)
        raise InvalidParams(f"invalid workflow ({len(exc.problems)} problems): {problems}") from None
    return doc


def version_document(key: tuple[str, str], data: Mapping[str, Any]) -> WorkflowDoc:
    """A published version's document (a stored one was valid when it was published), parsed once."""
    doc = _versions.get(key)
    if doc is None:
        doc = _versions[key] = parse_doc(data)
        if len(_versions) > CACHE_SIZE:
            _versions.popitem(last=False)
    return doc


def checked_inputs(doc: WorkflowDoc, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters with declared defaults filled in, or InvalidParams (4000) naming each wrong one."""
    try:
        return compile_workflow(doc).check_inputs(parameters)
    except WorkflowInputError as exc:
        raise InvalidParams(f"parameters: {exc}") from None
