"""A ReAct agent: the model answers or calls tools; tools the agent holds run (concurrently, each under a
timeout) and the model goes on; tools the client holds, and calls of tools that need the caller's approval,
pause the run, to be resumed with their outputs (or decisions) appended to the conversation.

    agent = ReactAgent(model, tools=[search, delete], client_tools=[ToolSpec(name="get_location")],
                       approve_before={"delete"})
    async for event in agent.run(messages):
        ...  # AnswerDelta*, then ToolCallsMade / ToolResult, then Answered or Paused

The agent keeps no state between runs: the conversation it is given is the whole state, so a paused run resumes
in any process from the stored messages. Whatever goes wrong with a tool call (a tool the model made up,
arguments that are not a JSON object, a tool that raises or overruns its timeout) goes back to the model as
the call's tool message, so the model can recover; only ``max_steps`` model calls without an answer end a run.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Collection, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field

from plait.components import ChatModel, Tool
from plait.schema import Message, PlaitError, ToolArgumentsError, ToolCall, ToolSpec, Usage, concat

APPROVED = '{"approved": true}'  # the tool output that approves a call; any other output rejects it
DEFAULT_TOOL_TIMEOUT = 30.0
DEFAULT_MAX_CONCURRENCY = 8


class AgentError(PlaitError):
    """The agent could not finish: the model called tools ``max_steps`` times without answering."""


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
    """A tool call's output as the model will read it; ``error`` is set when the call did not run or failed,
    and ``output`` then says why."""

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
    """The run waits for the caller: ``calls`` each need a tool message appended to the conversation before
    running again. Those in ``approvals`` are the agent's own tools waiting for a decision (``approval`` or
    ``rejection``); the others are client tools, whose output the caller produces."""

    calls: list[ToolCall]
    usage: Usage
    approvals: list[ToolCall] = field(default_factory=list)

    @property
    def client_calls(self) -> list[ToolCall]:
        waiting = {call.id for call in self.approvals}
        return [call for call in self.calls if call.id not in waiting]


AgentEvent = AnswerDelta | ToolCallsMade | ToolResult | Answered | Paused


def transcript(events: Iterable[AgentEvent]) -> list[Message]:
    """The messages a run added to its conversation, from its events: what a caller appends to resume it."""
    messages: list[Message] = []
    for event in events:
        if isinstance(event, ToolCallsMade | Answered):
            messages.append(event.message)
        elif isinstance(event, ToolResult):
            messages.append(Message.tool(event.output, tool_call_id=event.call.id, name=event.call.name))
    return messages


def approval(call: ToolCall) -> Message:
    """The tool message that lets a paused call run when the agent resumes."""
    return Message.tool(APPROVED, tool_call_id=call.id, name=call.name)


def rejection(call: ToolCall, reason: str) -> Message:
    """The tool message that refuses a paused call: the model reads ``reason`` as the call's output."""
    return Message.tool(reason, tool_call_id=call.id, name=call.name)


def is_approval(message: Message) -> bool:
    """Only a JSON object whose ``approved`` is true approves, so no free text can approve by accident."""
    try:
        decision = json.loads(message.text)
    except ValueError:
        return False
    return isinstance(decision, dict) and decision.get("approved") is True


@dataclass(slots=True)
class ReactAgent:
    model: ChatModel
    tools: Sequence[Tool] = ()
    client_tools: Sequence[ToolSpec] = ()
    max_steps: int = 8  # model calls in one run; the model may recover from failed tool calls until then
    options: dict[str, object] = field(default_factory=dict)
    tool_timeout: float | None = DEFAULT_TOOL_TIMEOUT  # seconds per tool call; None waits for ever
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY  # own tool calls of one step running at once
    approve_before: Collection[str] = frozenset()  # own tools whose calls wait for the caller's approval

    def __post_init__(self) -> None:
        names = [t.spec.name for t in self.tools] + [s.name for s in self.client_tools]
        if len(set(names)) != len(names):
            raise ValueError(f"tool names must be unique, got {names}")
        if self.max_steps < 1:
            raise ValueError("max_steps must be >= 1")
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        if self.tool_timeout is not None and self.tool_timeout <= 0:
            raise ValueError("tool_timeout must be > 0 seconds, or None")
        own = {t.spec.name for t in self.tools}
        if strangers := sorted(set(self.approve_before) - own):
            raise ValueError(f"approve_before names tools the agent does not hold: {', '.join(strangers)}")

    async def run(self, messages: Sequence[Message]) -> AsyncGenerator[AgentEvent, None]:
        specs = [t.spec for t in self.tools] + list(self.client_tools)
        model = self.model.with_tools(specs) if specs else self.model
        conversation = _merged(messages)
        usage = Usage()
        open_step = _open_step(conversation)
        if open_step is not None:  # a resumed run: settle the paused calls before the model hears of them
            async with aclosing(self._settle(open_step, conversation, usage)) as settled:
                async for event in settled:
                    yield event
                    if isinstance(event, Paused):
                        return
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
            async with aclosing(self._settle(reply.tool_calls, conversation, usage)) as settled:
                async for event in settled:  # closed with the run, so a closed run's tools stop at once
                    yield event
                    if isinstance(event, Paused):
                        return
        raise AgentError(f"no answer after {self.max_steps} model calls")

    async def _settle(
        self, calls: Sequence[ToolCall], conversation: list[Message], usage: Usage
    ) -> AsyncGenerator[ToolResult | Paused, None]:
        """Run what can run of one step's calls, in order, and pause for what the caller holds. A call that
        already has a tool message is done, except an approved one, whose approval its output replaces."""
        where = _tool_messages(conversation, calls)
        own = {t.spec.name: t for t in self.tools}
        client = {s.name for s in self.client_tools}
        runnable: list[ToolCall] = []
        waiting: list[ToolCall] = []
        approvals: list[ToolCall] = []
        for call in calls:
            index = where.get(call.id)
            gated = call.name in self.approve_before
            if index is None and (call.name in client or gated):
                waiting.append(call)
                if gated:
                    approvals.append(call)
            elif index is None or (gated and is_approval(conversation[index])):
                runnable.append(call)
        async with aclosing(self._run_all(runnable, own)) as results:
            async for result in results:
                yield result
                message = Message.tool(result.output, tool_call_id=result.call.id, name=result.call.name)
                index = where.get(result.call.id)
                if index is None:
                    conversation.append(message)
                else:
                    conversation[index] = message
        if waiting:
            yield Paused(waiting, usage, approvals)

    async def _run_all(self, calls: list[ToolCall], own: dict[str, Tool]) -> AsyncGenerator[ToolResult, None]:
        """Results come in the calls' order, each as soon as it and those before it are done."""
        if len(calls) == 1:  # the common step: no task to schedule
            yield await self._call(calls[0], own.get(calls[0].name), own)
            return
        limit = asyncio.Semaphore(self.max_concurrency)

        async def bounded(call: ToolCall) -> ToolResult:
            async with limit:
                return await self._call(call, own.get(call.name), own)

        tasks = [asyncio.create_task(bounded(call), name=f"tool {call.name}") for call in calls]
        try:
            for task in tasks:
                yield await task
        finally:  # the run was closed or cancelled mid-step: its tools stop with it
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _call(self, call: ToolCall, tool: Tool | None, own: dict[str, Tool]) -> ToolResult:
        """Run one tool call; whatever keeps it from an output is told to the model, which may try again."""
        if tool is None:
            names = ", ".join([*own, *(s.name for s in self.client_tools)]) or "none"
            return ToolResult(call, f"error: there is no tool named {call.name!r}; the tools are: {names}", True)
        try:
            arguments = call.parsed_arguments()
        except ToolArgumentsError as exc:
            return ToolResult(call, f"error: {exc}", error=True)
        try:
            async with asyncio.timeout(self.tool_timeout) as scope:
                output = await tool.call(arguments)
        except TimeoutError as exc:
            if not scope.expired():  # the tool's own timeout (an HTTP call, say) is a failure like any other
                return ToolResult(call, f"error: {call.name} failed: {exc or 'timed out'}", error=True)
            return ToolResult(call, f"error: {call.name} timed out after {self.tool_timeout:g} s", error=True)
        except Exception as exc:  # the model sees the failure and may retry or answer without the tool
            return ToolResult(call, f"error: {call.name} failed: {exc}", error=True)
        text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, default=str)
        return ToolResult(call, text)


def _merged(messages: Sequence[Message]) -> list[Message]:
    """The conversation with one tool message per call: a later message for a call (an approved call's
    output, saved after the approval) takes the place of the earlier one, as providers refuse duplicates."""
    latest: dict[str, Message] = {}
    for message in messages:
        if message.role == "tool" and message.tool_call_id:
            latest[message.tool_call_id] = message
    conversation: list[Message] = []
    seen: set[str] = set()
    for message in messages:
        call_id = message.tool_call_id if message.role == "tool" else None
        if call_id:
            if call_id in seen:
                continue
            seen.add(call_id)
            message = latest[call_id]
        conversation.append(message)
    return conversation


def _open_step(conversation: Sequence[Message]) -> list[ToolCall] | None:
    """The tool calls of a conversation that ends in them (with or without some of their outputs): a paused
    run's step, or a client's history that stops at its tools' outputs."""
    for message in reversed(conversation):
        if message.role == "tool":
            continue
        if message.role == "assistant" and message.tool_calls:
            return message.tool_calls
        return None
    return None


def _tool_messages(conversation: Sequence[Message], calls: Sequence[ToolCall]) -> dict[str, int]:
    """Where each of the calls' tool messages is, in the step's tail of the conversation."""
    ids = {call.id for call in calls}
    where: dict[str, int] = {}
    for index in range(len(conversation) - 1, -1, -1):
        message = conversation[index]
        if message.role != "tool":
            break
        if message.tool_call_id in ids:
            where[message.tool_call_id] = index
    return where
