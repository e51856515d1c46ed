"""Log setup for ``plait serve`` and its workers: structlog renders every record, the stdlib's included (so the
existing ``logging`` calls and uvicorn's lines come out the same way), as JSON with ``PLAIT_LOG_FORMAT=json``
or as readable console lines otherwise. Each event carries the request's log id, workspace and run id from
the context, the trace id while tracing is on, and never a credential (``secrets.mask_event``)."""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

from plait.observability import context
from plait.observability.secrets import mask_event

FORMAT_ENV = "PLAIT_LOG_FORMAT"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
LogFormat = Literal["json", "console"]


def add_context(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in context.bound().items():
        event.setdefault(key, value)
    return event


def add_trace_id(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Only in the chain while tracing is on: the OpenTelemetry API is not imported otherwise."""
    from opentelemetry import trace

    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event.setdefault("trace_id", format(span_context.trace_id, "032x"))
    return event


def log_format() -> LogFormat:
    return "json" if os.environ.get(FORMAT_ENV, "").lower() == "json" else "console"


def configure_logging(level: str = "INFO", fmt: LogFormat | None = None, *, tracing: bool = False) -> None:
    """Route the stdlib's root logger and structlog through one formatter; idempotent (each worker calls it)."""
    fmt = fmt or log_format()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_context,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if tracing:
        shared.append(add_trace_id)
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # the traceback as text, so it is masked like the rest
            mask_event,
            renderer,
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in UVICORN_LOGGERS:  # uvicorn's own handlers would print around ours
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
