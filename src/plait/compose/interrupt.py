"""Interrupting from inside a node: ``interrupt(payload)`` pauses the run; on resume it returns the data.

A node that interrupts is re-run from its start when the run resumes, so the k-th ``interrupt`` call of a
node returns the k-th resume value it was given; code before the first call runs again (keep it
idempotent, as in LangGraph).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


class NodeInterrupt(Exception):
    """Raised by ``interrupt``; the engine turns it into a checkpoint and a ``GraphInterrupted``."""

    def __init__(self, payload: Any) -> None:
        super().__init__("interrupt() was called outside a graph run")
        self.payload = payload


@dataclass(slots=True)
class ResumeScope:
    """The resume values a re-run node will hand out, in call order."""

    values: list[Any] = field(default_factory=list)
    used: int = 0


_resume_scope: ContextVar[ResumeScope | None] = ContextVar("plait_resume_scope", default=None)


def interrupt(payload: Any = None) -> Any:
    """Pause the run with ``payload`` for a human or a client; returns the resume data once resumed."""
    scope = _resume_scope.get()
    if scope is not None and scope.used < len(scope.values):
        value = scope.values[scope.used]
        scope.used += 1
        return value
    raise NodeInterrupt(payload)


def enter_resume_scope(values: list[Any]) -> Any:
    return _resume_scope.set(ResumeScope(values=values))


def leave_resume_scope(token: Any) -> None:
    _resume_scope.reset(token)
