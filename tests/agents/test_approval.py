"""Calls that wait for the caller's approval: the run pauses, and resumes from the conversation alone, running
an approved call without asking the model again, or telling the model a rejection."""

from __future__ import annotations

from collections.abc import Callable

from agent_tools import Adder, Deleter

from plait.agents import (
    APPROVED,
    Answered,
    Paused,
    ReactAgent,
    ToolCallsMade,
    ToolResult,
    approval,
    rejection,
    transcript,
)
from plait.agents.react import AgentEvent
from plait.models.scripted import ScriptedChatModel
from plait.schema import Message, ToolCall, ToolSpec

QUESTION = Message.user("tidy up and add 2 and 3")
STEP = Message.assistant(
    tool_calls=[
        ToolCall(id="d1", name="delete", arguments='{"path": "/tmp/old"}'),
        ToolCall(id="a1", name="add", arguments='{"a": 2, "b": 3}'),
        ToolCall(id="l1", name="locate", arguments="{}"),
    ]
)


def _agent(model: ScriptedChatModel, deleter: Deleter) -> ReactAgent:
    return ReactAgent(
        model, tools=[deleter, Adder()], client_tools=[ToolSpec(name="locate")], approve_before={"delete"}
    )


async def _run(agent: ReactAgent, conversation: list[Message]) -> list[AgentEvent]:
    return [event async for event in agent.run(conversation)]


async def test_a_gated_call_pauses_with_the_client_calls_while_the_others_run() -> None:
    deleter = Deleter()
    events = await _run(_agent(ScriptedChatModel([STEP]), deleter), [QUESTION])
    assert [type(e).__name__ for e in events] == ["ToolCallsMade", "ToolResult", "Paused"]
    added, paused = events[1], events[2]
    assert isinstance(added, ToolResult) and added.output == '{"sum": 5}'
    assert isinstance(paused, Paused)
    assert [c.id for c in paused.calls] == ["d1", "l1"]
    assert [c.id for c in paused.approvals] == ["d1"] and [c.id for c in paused.client_calls] == ["l1"]
    assert deleter.deleted == []


async def _decided(
    model: ScriptedChatModel, deleter: Deleter, decision: Callable[[ToolCall], Message]
) -> tuple[list[Message], list[AgentEvent]]:
    """Run to the pause, then resume with ``decision`` on the delete and the client's output for locate."""
    agent = _agent(model, deleter)
    first = await _run(agent, [QUESTION])
    paused = first[-1]
    assert isinstance(paused, Paused)
    history = [QUESTION, *transcript(first), decision(paused.approvals[0]), Message.tool("Oslo", tool_call_id="l1")]
    return history, await _run(agent, history)


async def test_an_approved_call_runs_on_resume_before_the_model_is_called_again() -> None:
    deleter = Deleter()
    model = ScriptedChatModel([STEP, "tidied; the sum is 5"])
    _, resumed = await _decided(model, deleter, approval)
    result, answered = resumed[0], resumed[-1]
    assert isinstance(answered, Answered) and answered.message.text == "tidied; the sum is 5"
    assert not any(isinstance(e, ToolCallsMade | Paused) for e in resumed)
    assert isinstance(result, ToolResult) and result.output == "deleted /tmp/old"
    assert deleter.deleted == ["/tmp/old"]
    assert len(model.calls) == 2  # the step was not asked for again
    told = model.calls[1]
    assert [(m.role, m.tool_call_id, m.text) for m in told[2:]] == [
        ("tool", "a1", '{"sum": 5}'),
        ("tool", "d1", "deleted /tmp/old"),  # in the approval's place
        ("tool", "l1", "Oslo"),
    ]
    assert APPROVED not in [m.text for m in told]


async def test_a_rejected_call_does_not_run_and_the_model_reads_why() -> None:
    deleter = Deleter()
    model = ScriptedChatModel([STEP, "left it"])
    _, resumed = await _decided(model, deleter, lambda call: rejection(call, "no: keep that file"))
    assert deleter.deleted == []
    assert not any(isinstance(e, ToolResult | ToolCallsMade) for e in resumed)
    assert isinstance(resumed[-1], Answered) and resumed[-1].message.text == "left it"
    assert [m.text for m in model.calls[1] if m.tool_call_id == "d1"] == ["no: keep that file"]


async def test_only_an_approved_json_object_approves() -> None:
    deleter = Deleter()
    for answer in ('{"approved": "yes"}', "approved", '{"approved": false}', '["approved", true]'):
        model = ScriptedChatModel([STEP, "ok"])

        def decide(call: ToolCall, text: str = answer) -> Message:
            return Message.tool(text, tool_call_id=call.id)

        await _decided(model, deleter, decide)
        assert deleter.deleted == [] and model.calls[1][-2].text == answer


async def test_a_resume_without_the_decision_pauses_again_without_calling_the_model() -> None:
    deleter = Deleter()
    model = ScriptedChatModel([STEP])
    agent = _agent(model, deleter)
    first = await _run(agent, [QUESTION])
    again = await _run(agent, [QUESTION, *transcript(first), Message.tool("Oslo", tool_call_id="l1")])
    assert len(again) == 1 and isinstance(again[0], Paused) and [c.id for c in again[0].calls] == ["d1"]
    assert len(model.calls) == 1 and deleter.deleted == []


async def test_a_stored_history_with_the_approval_and_its_output_runs_nothing_twice() -> None:
    """A platform saves the approval, then the output the resumed run produced: later turns read both."""
    deleter = Deleter()
    model = ScriptedChatModel([STEP, "tidied", "you are welcome"])
    history, resumed = await _decided(model, deleter, approval)
    history += transcript(resumed)
    assert [m.tool_call_id for m in history if m.role == "tool"] == ["a1", "d1", "l1", "d1"]
    later = await _run(_agent(model, deleter), [*history, Message.user("thanks")])
    assert isinstance(later[-1], Answered) and deleter.deleted == ["/tmp/old"]
    sent = model.calls[2]
    assert [(m.tool_call_id, m.text) for m in sent if m.role == "tool"] == [
        ("a1", '{"sum": 5}'),
        ("d1", "deleted /tmp/old"),
        ("l1", "Oslo"),
    ]
