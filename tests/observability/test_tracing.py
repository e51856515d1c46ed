"""Tracing through the compose callbacks, with the SDK's in-memory exporter: a span per run, node, model and
tool call, each under the one that made it, with token usage and the run's ids; nothing when it is off."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from starlette.types import Receive, Scope, Send

from plait.agents import AgentEvent, Answered, ReactAgent
from plait.compose import END, START, Graph
from plait.compose.callbacks import handlers_for_run
from plait.models.scripted import ScriptedChatModel
from plait.observability import context, tracing
from plait.observability.calls import ObservedModel, ObservedTool
from plait.schema import Message, ToolCall
from plait.server.middleware import LogIdMiddleware
from plait.server.tracing import TraceMiddleware
from plait.tools.function import tool


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.start(exporter)
    try:
        yield exporter
    finally:
        tracing.stop()


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def _agent() -> ReactAgent:
    call = ToolCall(id="c1", name="add", arguments='{"a": 2, "b": 3}')
    model = ScriptedChatModel([Message.assistant(tool_calls=[call]), "five"])
    return ReactAgent(ObservedModel(model, "scripted/script", "ws1"), tools=[ObservedTool(add)])


async def _run(agent: ReactAgent) -> AsyncIterator[AgentEvent]:
    async for event in agent.run([Message.user("2 + 3?")]):
        yield event


def _by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


async def test_a_span_per_run_node_model_and_tool_call(spans: InMemorySpanExporter) -> None:
    graph: Graph[ReactAgent, AgentEvent] = Graph(input_type=ReactAgent)
    graph.add_node("agent", _run).add_edge(START, "agent").add_edge("agent", END)
    context.RUN.set("chat-1")
    events = [event async for event in graph.compile().astream(_agent(), run_id="chat-1")]
    assert isinstance(events[-1], Answered)

    found = _by_name(spans)
    root, node = _root(found), found["node agent"]
    model, tool_call = found["model scripted/script"], found["tool add"]
    assert node.parent is not None and node.parent.span_id == root.context.span_id
    assert model.parent is not None and model.parent.span_id == node.context.span_id
    assert tool_call.parent is not None and tool_call.parent.span_id == node.context.span_id
    assert {span.context.trace_id for span in found.values()} == {root.context.trace_id}
    assert node.attributes is not None and node.attributes["plait.run_id"] == "chat-1"
    assert model.attributes is not None and model.attributes["plait.run_id"] == "chat-1"
    assert model.attributes["gen_ai.usage.output_tokens"] > 0
    assert sum(1 for span in spans.get_finished_spans() if span.name == "model scripted/script") == 2


def _root(found: dict[str, ReadableSpan]) -> ReadableSpan:
    return next(span for name, span in found.items() if name.startswith("graph "))


async def test_a_failed_node_marks_its_span(spans: InMemorySpanExporter) -> None:
    async def broken(_: str) -> str:
        raise ValueError("no")

    graph: Graph[str, str] = Graph(input_type=str)
    graph.add_node("broken", broken).add_edge(START, "broken").add_edge("broken", END)
    with pytest.raises(Exception, match="no"):
        await graph.compile().ainvoke("x")
    node = _by_name(spans)["node broken"]
    assert node.status.status_code is StatusCode.ERROR
    assert node.events and node.events[0].name == "exception"


async def test_a_failed_model_call_marks_its_span(spans: InMemorySpanExporter) -> None:
    model = ObservedModel(ScriptedChatModel([RuntimeError("provider down")]), "scripted/script", "ws1")
    with pytest.raises(RuntimeError):
        await model.generate([Message.user("hi")])
    assert _by_name(spans)["model scripted/script"].status.status_code is StatusCode.ERROR


async def test_the_log_id_is_the_trace_id(spans: InMemorySpanExporter) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    transport = httpx.ASGITransport(app=TraceMiddleware(LogIdMiddleware(app)))
    async with httpx.AsyncClient(transport=transport, base_url="http://plait") as client:
        response = await client.get("/v1/anything")
    (span,) = spans.get_finished_spans()
    assert response.headers["x-tt-logid"] == format(span.context.trace_id, "032x")
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 204


def test_off_means_no_handler_and_no_spans() -> None:
    assert tracing.handler() is None
    assert not any(isinstance(handler, tracing.TracingHandler) for handler in handlers_for_run(None))


def test_on_by_the_standard_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    assert not tracing.wanted() and tracing.wanted(True)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    assert tracing.wanted()
