"""One step of the ReAct loop: several tool calls at once, in order, bounded, timed out, cancelled; and tool
calls found in a stream that first said something."""

from __future__ import annotations

import asyncio
import time

from agent_tools import Adder, Sleeper, SlowService

from plait.agents import AnswerDelta, Answered, ReactAgent, ToolCallsMade, ToolResult
from plait.agents.react import AgentEvent
from plait.models.scripted import ScriptedChatModel
from plait.schema import Message, ToolCall, concat


def _sleeps(*seconds: float) -> Message:
    """One assistant message calling ``sleep`` once per duration, ids s0, s1, ..."""
    calls = [
        ToolCall(id=f"s{index}", name="sleep", arguments=f'{{"seconds": {value}}}')
        for index, value in enumerate(seconds)
    ]
    return Message.assistant(tool_calls=calls)


async def _events(agent: ReactAgent) -> list[AgentEvent]:
    return [event async for event in agent.run([Message.user("go")])]


async def test_the_calls_of_a_step_run_at_once_and_report_in_order() -> None:
    sleeper = Sleeper()
    model = ScriptedChatModel([_sleeps(0.15, 0.05, 0.1), "done"])
    events = await _events(ReactAgent(model, tools=[sleeper]))
    assert sleeper.most == 3 and sleeper.finished == ["0.05", "0.1", "0.15"]  # they overlapped
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [r.call.id for r in results] == ["s0", "s1", "s2"]
    told = model.calls[1]
    assert [(m.tool_call_id, m.text) for m in told[2:]] == [
        ("s0", "slept 0.15"),
        ("s1", "slept 0.05"),
        ("s2", "slept 0.1"),
    ]


async def test_max_concurrency_bounds_the_calls_in_flight() -> None:
    sleeper = Sleeper()
    model = ScriptedChatModel([_sleeps(0.02, 0.02, 0.02, 0.02, 0.02), "done"])
    events = await _events(ReactAgent(model, tools=[sleeper], max_concurrency=2))
    assert sleeper.most == 2 and len(sleeper.finished) == 5
    assert isinstance(events[-1], Answered)


async def test_a_tool_over_its_timeout_is_a_message_and_the_others_still_answer() -> None:
    sleeper = Sleeper()
    model = ScriptedChatModel([_sleeps(5, 0.01), "the first one hung"])
    started = time.perf_counter()
    events = await _events(ReactAgent(model, tools=[sleeper], tool_timeout=0.1))
    assert time.perf_counter() - started < 1
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [(r.output, r.error) for r in results] == [
        ("error: sleep timed out after 0.1 s", True),
        ("slept 0.01", False),
    ]
    assert sleeper.canceled == 1 and sleeper.running == 0
    assert model.calls[1][2].text == "error: sleep timed out after 0.1 s"
    assert isinstance(events[-1], Answered) and events[-1].message.text == "the first one hung"


async def test_a_tool_raising_its_own_timeout_error_failed_rather_than_timed_out() -> None:
    model = ScriptedChatModel([ScriptedChatModel.tool_call("service", {}), "no service"])
    events = await _events(ReactAgent(model, tools=[SlowService()], tool_timeout=10))
    result = events[1]
    assert isinstance(result, ToolResult) and result.error
    assert result.output == "error: service failed: the service did not answer in 2 s"


async def test_closing_a_run_mid_step_cancels_its_tools() -> None:
    sleeper = Sleeper()
    model = ScriptedChatModel([_sleeps(0.01, 5, 5)])
    run = ReactAgent(model, tools=[sleeper]).run([Message.user("go")])
    assert isinstance(await anext(run), ToolCallsMade)
    first = await anext(run)
    assert isinstance(first, ToolResult) and first.output == "slept 0.01"
    await run.aclose()
    await asyncio.sleep(0)
    assert sleeper.canceled == 2 and sleeper.running == 0


async def test_a_tool_call_streamed_after_reasoning_and_text_is_called() -> None:
    arguments = '{"a": 20, "b": 22}'
    reply = Message.assistant("Let me add them.", tool_calls=[ToolCall(id="c1", name="add", arguments=arguments)])
    reply.reasoning = "The user wants a sum."
    model = ScriptedChatModel([reply, "42"])
    chunks = [chunk async for chunk in model.stream([Message.user("20+22?")])]
    model = ScriptedChatModel([reply, "42"])  # the same script, fresh, for the agent
    kinds = ["reasoning" if c.reasoning else "text" if c.text else "call" if c.tool_calls else "end" for c in chunks]
    assert kinds[0] == "reasoning" and kinds[1] == "text" and kinds.count("call") > 2  # split in pieces

    events = await _events(ReactAgent(model, tools=[Adder()]))
    deltas = [e for e in events if isinstance(e, AnswerDelta)]
    assert "".join(d.reasoning for d in deltas) == "The user wants a sum."
    assert "".join(d.text for d in deltas).startswith("Let me add them.")
    made = next(e for e in events if isinstance(e, ToolCallsMade))
    assert made.message.text == "Let me add them." and made.message.reasoning == "The user wants a sum."
    assert [(c.id, c.name, c.arguments) for c in made.message.tool_calls] == [("c1", "add", arguments)]
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.output == '{"sum": 42}' and not result.error


def test_concat_finds_a_split_tool_call_after_text_then_reasoning() -> None:
    """The order some providers stream in: an answer's opening, then reasoning, then the call in pieces."""
    chunks = [
        Message(role="assistant", content="Checking"),
        Message(role="assistant", reasoning="need the weather"),
        Message(role="assistant", tool_calls=[ToolCall(id="w1", name="weather", index=0)]),
        Message(role="assistant", tool_calls=[ToolCall(arguments='{"city": ', index=0)]),
        Message(role="assistant", tool_calls=[ToolCall(arguments='"Oslo"}', index=0)]),
        Message(role="assistant", finish_reason="tool_calls"),
    ]
    merged = concat(chunks)
    assert (merged.text, merged.reasoning) == ("Checking", "need the weather")
    assert [(c.id, c.name, c.parsed_arguments()) for c in merged.tool_calls] == [("w1", "weather", {"city": "Oslo"})]
