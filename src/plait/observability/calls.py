"""Model and tool calls, observed: wrappers that count their latency, errors and tokens (with the estimated
cost) and, while tracing is on, give each call a span under the node that made it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from plait.components import ChatModel
from plait.components.tool import Tool
from plait.observability import context, tracing
from plait.observability.metrics import COST, MODEL_ERRORS, MODEL_LATENCY, TOKENS, TOOL_ERRORS, TOOL_LATENCY
from plait.observability.prices import cost
from plait.schema import Message, ToolSpec, Usage

if TYPE_CHECKING:
    from opentelemetry.trace import Span


def _span(name: str, attributes: dict[str, Any]) -> Span | None:
    """A span under the innermost open span of the current run (else the current context), or None when off."""
    handler = tracing.handler()
    if handler is None:
        return None
    from opentelemetry import trace

    parent = handler.innermost(context.RUN.get())
    ctx = trace.set_span_in_context(parent) if parent is not None else None
    return handler.tracer.start_span(name, context=ctx, attributes=attributes)


class ObservedModel:
    """A chat model of a workspace, as the registry gave it, measured."""

    def __init__(self, model: ChatModel, model_id: str, workspace_id: str) -> None:
        self.inner = model
        self.model_id = model_id
        self.workspace_id = workspace_id

    async def generate(self, messages: Sequence[Message], **options: Any) -> Message:
        started, span = time.perf_counter(), self._span()
        try:
            reply = await self.inner.generate(messages, **options)
        except BaseException as exc:
            self._ended(started, span, None, exc)
            raise
        self._ended(started, span, reply.usage, None)
        return reply

    async def stream(self, messages: Sequence[Message], **options: Any) -> AsyncIterator[Message]:
        started, span = time.perf_counter(), self._span()
        usage: Usage | None = None
        try:
            async for chunk in self.inner.stream(messages, **options):
                if chunk.usage is not None:
                    usage = chunk.usage if usage is None else usage + chunk.usage
                yield chunk
        except BaseException as exc:
            self._ended(started, span, usage, exc)
            raise
        self._ended(started, span, usage, None)

    def with_tools(self, tools: Sequence[ToolSpec], *, tool_choice: str = "auto") -> ChatModel:
        return ObservedModel(self.inner.with_tools(tools, tool_choice=tool_choice), self.model_id, self.workspace_id)

    def _span(self) -> Span | None:
        return _span(f"model {self.model_id}", {"gen_ai.request.model": self.model_id, **context.span_attributes()})

    def _ended(self, started: float, span: Span | None, usage: Usage | None, error: BaseException | None) -> None:
        MODEL_LATENCY.labels(self.model_id).observe(time.perf_counter() - started)
        if isinstance(error, Exception):  # a cancelled call (GeneratorExit, CancelledError) did not fail
            MODEL_ERRORS.labels(self.model_id).inc()
        if usage is not None:
            TOKENS.labels(self.model_id, self.workspace_id, "input").inc(usage.prompt_tokens)
            TOKENS.labels(self.model_id, self.workspace_id, "output").inc(usage.completion_tokens)
            if spent := cost(self.model_id, usage):
                COST.labels(self.model_id, self.workspace_id).inc(spent)
        if span is not None:
            if usage is not None:
                span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
            tracing.end_span(span, error if isinstance(error, Exception) else None)


class ObservedTool:
    """A tool an agent holds, measured; a tool whose call raises counts as an error."""

    def __init__(self, tool: Tool) -> None:
        self.inner = tool
        self.spec = tool.spec

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        name = self.spec.name
        started = time.perf_counter()
        span = _span(f"tool {name}", {"plait.tool": name, **context.span_attributes()})
        try:
            output = await self.inner.call(arguments)
        except BaseException as exc:
            TOOL_LATENCY.labels(name).observe(time.perf_counter() - started)
            if isinstance(exc, Exception):
                TOOL_ERRORS.labels(name).inc()
            if span is not None:
                tracing.end_span(span, exc if isinstance(exc, Exception) else None)
            raise
        TOOL_LATENCY.labels(name).observe(time.perf_counter() - started)
        if span is not None:
            span.end()
        return output
