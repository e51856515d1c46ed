"""The ReAct agent over the scripted model: answers, own tools, client tools that pause, failures."""

from __future__ import annotations

import pytest
from agent_tools import Adder

from plait.agents import AgentError, AnswerDelta, Answered, Paused, ReactAgent, ToolCallsMade, ToolResult
from plait.agents.react import AgentEvent
from plait.models.scripted import ScriptedChatModel
from plait.schema import Message, ToolSpec


async def _events(agent: ReactAgent, text: str = "hi") -> list[AgentEvent]:
    return [event async for event in agent.run([Message.user(text)])]


async def test_an_answer_streams_then_completes() -> None:
    events = await _events(ReactAgent(ScriptedChatModel(["two words"])))
    assert [e.text for e in events if isinstance(e, AnswerDelta)] == ["two", " words"]
    final = events[-1]
    assert isinstance(final, Answered) and final.message.text == "two words"
    assert final.usage.completion_tokens == 2


async def test_own_tools_run_and_the_model_goes_on() -> None:
    model = ScriptedChatModel([ScriptedChatModel.tool_call("add", {"a": 2, "b": 3}, call_id="c1"), "five"])
    events = await _events(ReactAgent(model, tools=[Adder()]))
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["ToolCallsMade", "ToolResult", "AnswerDelta", "Answered"]
    result = events[1]
    assert isinstance(result, ToolResult) and result.output == '{"sum": 5}' and not result.error
    second_call = model.calls[1]
    assert [m.role for m in second_call] == ["user", "assistant", "tool"] and second_call[-1].tool_call_id == "c1"
    answered = events[-1]
    assert isinstance(answered, Answered) and answered.usage.completion_tokens > 1  # both calls counted


async def test_client_tools_pause_the_run() -> None:
    model = ScriptedChatModel([ScriptedChatModel.tool_call("locate", {}, call_id="c9")])
    events = await _events(ReactAgent(model, client_tools=[ToolSpec(name="locate")]))
    assert isinstance(events[0], ToolCallsMade)
    paused = events[-1]
    assert isinstance(paused, Paused) and [c.id for c in paused.calls] == ["c9"]


async def test_tool_failures_and_bad_arguments_go_back_to_the_model() -> None:
    model = ScriptedChatModel(
        [ScriptedChatModel.tool_call("add", "{not json"), ScriptedChatModel.tool_call("add", {"a": 1}), "gave up"]
    )
    events = await _events(ReactAgent(model, tools=[Adder()]))
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [r.error for r in results] == [True, True]
    assert "invalid arguments (not JSON" in results[0].output and "add failed: 'b'" in results[1].output
    assert isinstance(events[-1], Answered)


async def test_an_unknown_tool_is_told_to_the_model_which_recovers() -> None:
    model = ScriptedChatModel([ScriptedChatModel.tool_call("nope", {}, call_id="c1"), "sorry"])
    events = await _events(ReactAgent(model, tools=[Adder()], client_tools=[ToolSpec(name="locate")]))
    result = events[1]
    assert isinstance(result, ToolResult) and result.error
    assert result.output == "error: there is no tool named 'nope'; the tools are: add, locate"
    told = model.calls[1][-1]
    assert (told.role, told.tool_call_id, told.text) == ("tool", "c1", result.output)
    assert isinstance(events[-1], Answered) and events[-1].message.text == "sorry"


async def test_a_model_that_never_answers_stops_at_max_steps() -> None:
    looping = ScriptedChatModel([ScriptedChatModel.tool_call("add", {"a": 1, "b": 1})], loop=True)
    with pytest.raises(AgentError, match="no answer after 3 model calls"):
        await _events(ReactAgent(looping, tools=[Adder()], max_steps=3))
    assert len(looping.calls) == 3


def test_tool_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        ReactAgent(ScriptedChatModel(), tools=[Adder()], client_tools=[ToolSpec(name="add")])
    with pytest.raises(ValueError, match="max_steps"):
        ReactAgent(ScriptedChatModel(), max_steps=0)
    with pytest.raises(ValueError, match="max_concurrency"):
        ReactAgent(ScriptedChatModel(), max_concurrency=0)
    with pytest.raises(ValueError, match="tool_timeout"):
        ReactAgent(ScriptedChatModel(), tool_timeout=0)
    with pytest.raises(ValueError, match="does not hold: locate"):
        ReactAgent(
            ScriptedChatModel(), tools=[Adder()], client_tools=[ToolSpec(name="locate")], approve_before={"locate"}
        )


async def test_scripted_tools_model_calls_on_request_and_answers_with_outputs() -> None:
    model = ScriptedChatModel.tool_runner()
    called = await model.generate([Message.user('call add {"a": 1, "b": 2}')])
    assert [(c.name, c.arguments) for c in called.tool_calls] == [("add", '{"a": 1, "b": 2}')]
    answered = await model.generate(
        [Message.user("x"), called, Message.tool("3", tool_call_id=called.tool_calls[0].id)]
    )
    assert answered.text == "3"
    assert (await model.generate([Message.user("just talk")])).text == "just talk"
