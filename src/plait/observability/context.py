"""What a log line or span says it belongs to: the request's log id, the caller's workspace, the run (a chat
or workflow run). Context variables, so tasks a request starts (a chat's run) carry them along."""

from __future__ import annotations

from contextvars import ContextVar

LOGID: ContextVar[str | None] = ContextVar("plait_logid", default=None)
WORKSPACE: ContextVar[str | None] = ContextVar("plait_workspace", default=None)
RUN: ContextVar[str | None] = ContextVar("plait_run", default=None)


def bound() -> dict[str, str]:
    """The bound values, for a log event or span attributes."""
    found: dict[str, str] = {}
    if (logid := LOGID.get()) is not None:
        found["logid"] = logid
    if (workspace := WORKSPACE.get()) is not None:
        found["workspace"] = workspace
    if (run := RUN.get()) is not None:
        found["run_id"] = run
    return found


def span_attributes() -> dict[str, str]:
    """The bound values as span attributes (``plait.logid``...)."""
    return {f"plait.{key}": value for key, value in bound().items()}
