"""A ReAct agent: the model answers or calls tools; tools the agent holds run and the model goes on; tools the
client holds pause the run, to be resumed with their outputs appended to the conversation.

    agent = ReactAgent(model, tools=[search], client_tools=[ToolSpec("get_location")])
    async for event in agent.run(messages):
        ...  # AnswerDelta*, then ToolCallsMade / ToolResult pairs, then Answered or Paused

The agent keeps no state between runs: the conversation it is given is the whole state, so a paused run resumes
in any process from the stored messages.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from plait.components import ChatModel, Tool
from plait.schema import Message, PlaitError, ToolCall, ToolSpec, Usage, concat


class AgentError(PlaitError):
    """The agent could not finish: too many steps, or a tool the model named does not exist."""


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    """A piece of the answer being generated (text and/or reasoning)."""

    text: str
    reasoning: str = ""


@dataclass(frozen=True, slots=True)
class ToolCallsMade:
    """The model asked for tools; ``message`` is the assistant message carrying the calls."""

    message: Message


@dataclass(frozen=True, slots=True)
class ToolResult:
    """One of the agent's own tools returned (or failed: then ``output`` says why and ``error`` is set)."""

    call: ToolCall
    output: str
    error: bool = False


@dataclass(frozen=True, slots=True)
class Answered:
    """The final answer; ``usage`` sums every model call of the run."""

    message: Message
    usage: Usage


@dataclass(frozen=True, slots=True)
class Paused:
    """The model called tools the client holds; resume by running again with their outputs appended."""

    calls: list[ToolCall]
    usage: Usage


AgentEvent = AnswerDelta | ToolCallsMade | ToolResult | Answered | Paused


@dataclass(slots=True)
class ReactAgent:
    model: ChatModel
    tools: Sequence[Tool] = ()
    client_tools: Sequence[ToolSpec] = ()
    max_steps: int = 8
    options: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [t.spec.name for t in self.tools] + [s.name for s in self.client_tools]
        if len(set(names)) != len(names):
            raise ValueError(f"tool names must be unique, got {names}")
        if self.max_steps < 1:
            raise ValueError("max_steps must be >= 1")

    async def run(self, messages: Sequence[Message]) -> AsyncIterator[AgentEvent]:
        specs = [t.spec for t in self.tools] + list(self.client_tools)
        model = self.model.with_tools(specs) if specs else self.model
        own = {t.spec.name: t for t in self.tools}
        conversation = list(messages)
        usage = Usage()
        for _ in range(self.max_steps):
            chunks: list[Message] = []
            async for chunk in model.stream(conversation, **self.options):
                chunks.append(chunk)
                if chunk.text or chunk.reasoning:
                    yield AnswerDelta(chunk.text, chunk.reasoning)
            reply = concat(chunks) if chunks else Message.assistant()
            usage = usage + reply.usage if reply.usage else usage
            if not reply.tool_calls:
                yield Answered(reply, usage)
                return
            yield ToolCallsMade(reply)
            conversation.append(reply)
            client = {s.name for s in self.client_tools}
            unknown = [c.name for c in reply.tool_calls if c.name not in own and c.name not in client]
            if unknown:
                raise AgentError(f"the model called unknown tools: {', '.join(unknown)}")
            for call in reply.tool_calls:
                if call.name in own:
                    result = await _call(own[call.name], call)
                    yield result
                    conversation.append(Message.tool(result.output, tool_call_id=call.id, name=call.name))
            pending = [c for c in reply.tool_calls if c.name not in own]
            if pending:
                yield Paused(pending, usage)
                return
        raise AgentError(f"no answer after {self.max_steps} model calls")


async def _call(tool: Tool, call: ToolCall) -> ToolResult:
    """Run one tool; bad arguments and tool failures go back to the model as text, as peers do."""
    try:
        arguments = json.loads(call.arguments or "{}")
        if not isinstance(arguments, dict):
            raise ValueError("arguments must be a JSON object")
    except ValueError as exc:
        return ToolResult(call, f"error: invalid arguments for {call.name}: {exc}", error=True)
    try:
        output = await tool.call(arguments)
    except Exception as exc:  # the model sees the failure and may retry or answer without the tool
        return ToolResult(call, f"error: {call.name} failed: {exc}", error=True)
    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, default=str)
    return ToolResult(call, text)
