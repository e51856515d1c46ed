"""OpenTelemetry tracing, off by default: a span per compose run and node (a global callback handler), per
model and tool call (``calls.py``) and per HTTP request (the server's middleware).

On with ``OTEL_TRACES_EXPORTER=otlp`` or the ``tracing`` setting; the exporter reads the standard ``OTEL_*``
variables (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``...). Off, nothing here is imported beyond
this module, and no handler is registered: the compose engine keeps its callback-free path."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from plait.compose import CallbackHandler, RunInfo, add_global_handler, remove_global_handler
from plait.observability import context
from plait.schema import StreamReader

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer


def wanted(setting: bool = False) -> bool:
    return setting or "otlp" in os.environ.get("OTEL_TRACES_EXPORTER", "").lower().split(",")


class TracingHandler(CallbackHandler):
    """Spans of compose runs, each under its parent node's span (a root run under the current context: the
    HTTP request that started it); the innermost open span of a run is the parent of its model and tool calls."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self._spans: dict[tuple[str, tuple[str, ...], str], Span] = {}
        self._open: dict[str, list[Span]] = {}

    def innermost(self, run_id: str | None) -> Span | None:
        stack = self._open.get(run_id) if run_id is not None else None
        return stack[-1] if stack else None

    def on_start(self, info: RunInfo, input: Any) -> None:
        self._begin(info)

    def on_start_stream(self, info: RunInfo, input: StreamReader[Any]) -> None:
        self._begin(info)

    def on_end(self, info: RunInfo, output: Any) -> None:
        self._finish(info, None)

    def on_end_stream(self, info: RunInfo, output: StreamReader[Any]) -> None:
        self._finish(info, None)

    def on_error(self, info: RunInfo, error: BaseException) -> None:
        self._finish(info, error)

    def _begin(self, info: RunInfo) -> None:
        from opentelemetry import trace

        parent_path = info.path[:-1] if info.kind == "node" else info.path
        parent = self._spans.get((info.run_id, parent_path, "node")) if info.path else None
        if parent is None and info.kind == "node":
            parent = self._spans.get((info.run_id, parent_path, "graph"))
        attributes: dict[str, str] = {"plait.run_id": info.run_id, "plait.kind": info.kind, **context.span_attributes()}
        if info.path:
            attributes["plait.path"] = "/".join(info.path)
        name = f"{info.kind} {'/'.join(info.path) or info.name}"
        span = self.tracer.start_span(
            name, context=trace.set_span_in_context(parent) if parent is not None else None, attributes=attributes
        )
        self._spans[(info.run_id, info.path, info.kind)] = span
        self._open.setdefault(info.run_id, []).append(span)

    def _finish(self, info: RunInfo, error: BaseException | None) -> None:
        span = self._spans.pop((info.run_id, info.path, info.kind), None)
        if span is None:
            return
        stack = self._open.get(info.run_id, [])
        if span in stack:
            stack.remove(span)
        if not stack:
            self._open.pop(info.run_id, None)
        for reason in ("cancelled", "interrupted"):
            if info.metadata.get(reason):
                span.set_attribute(f"plait.{reason}", True)
        end_span(span, error)


def end_span(span: Span, error: BaseException | None) -> None:
    if error is not None:
        from opentelemetry.trace import Status, StatusCode

        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.end()


class _State:
    handler: TracingHandler | None = None
    provider: TracerProvider | None = None


def handler() -> TracingHandler | None:
    """The tracing handler while tracing is on, else None: what model and tool calls check first."""
    return _State.handler


def start(exporter: SpanExporter | None = None) -> TracingHandler:
    """Turn tracing on in this process: spans go to ``exporter`` as they end (tests), or in batches to the OTLP
    exporter the ``OTEL_*`` variables configure."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    stop()
    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "plait")}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    _State.provider = provider
    _State.handler = TracingHandler(provider.get_tracer("plait"))
    add_global_handler(_State.handler)
    return _State.handler


def stop() -> None:
    """Flush and turn tracing off (at shutdown)."""
    if _State.handler is not None:
        remove_global_handler(_State.handler)
        _State.handler = None
    if _State.provider is not None:
        _State.provider.shutdown()
        _State.provider = None
