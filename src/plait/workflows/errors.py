"""Errors of workflows: an invalid document (every problem at once), bad run inputs, a failed run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from plait.schema import PlaitError


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a document: where (node id, field) and what."""

    code: str  # unknown_type, invalid_config, dangling_reference, type_mismatch, cycle, unreachable, ...
    message: str
    node_id: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = ".".join(part for part in (self.node_id, self.field) if part)
        return f"{where}: {self.message}" if where else self.message


class WorkflowInvalid(PlaitError):
    """The document cannot run; ``problems`` lists everything found, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"workflow is invalid ({len(self.problems)} problem(s)):\n{lines}")


class WorkflowInputError(PlaitError):
    """The run's inputs do not match the workflow's declared parameters."""


class WorkflowRunError(PlaitError):
    """A run failed; ``node_id`` names the node that failed it, when one did."""

    def __init__(self, message: str, *, node_id: str | None = None) -> None:
        self.node_id = node_id
        super().__init__(message)
