"""Intent classifier, parameter extractor, agent, message output, conversation and knowledge write nodes, with
the scripted model and in-memory implementations of the platform ports."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from wf_helpers import chain, make_doc, node, ref

from plait.agents import AnswerDelta, Answered, ReactAgent
from plait.models.registry import default_registry
from plait.models.scripted import ScriptedChatModel
from plait.schema import Message
from plait.workflows import (
    MessageOut,
    NodeChunk,
    NodeFinished,
    RunEvent,
    RunFailed,
    RunFinished,
    Services,
    WorkflowDoc,
    run_workflow,
)
from plait.workflows.ports import (
    BotAnswer,
    BotRequest,
    BotRunner,
    ConversationMessage,
    Conversations,
    KnowledgeWriter,
    WrittenDocument,
)


class Models:
    """The registry's models, and scripted ones under ids of the test's choosing."""

    def __init__(self, **scripted: ScriptedChatModel) -> None:
        self.scripted = {name.replace("_", "/"): model for name, model in scripted.items()}

    def get(self, model_id: str, **options: Any) -> Any:
        return self.scripted.get(model_id) or default_registry().get(model_id, **options)


async def run(doc: WorkflowDoc, inputs: Mapping[str, Any], services: Services, **options: Any) -> list[RunEvent]:
    return [e async for e in run_workflow(doc, inputs, services=services, **options)]


def finished(events: list[RunEvent], node_id: str) -> NodeFinished:
    return next(e for e in events if isinstance(e, NodeFinished) and e.node_id == node_id)


def pick_intent(messages: Sequence[Message]) -> str:
    """A classifier's reply: the listed intent whose description shares a word with the user's text, else 0."""
    listed = json.loads(messages[0].text.split("\n")[1])
    words = set(messages[-1].text.lower().split())
    for intent in listed[1:]:
        if words & set(intent["content"].lower().split()):
            return f'Sure: {{"classificationId": {intent["classificationId"]}, "reason": "shares a word"}}'
    return '{"classificationId": 0, "reason": "nothing fits"}'


def classifier_doc() -> WorkflowDoc:
    intents = [
        {"name": "refund", "description": "the user wants money back"},
        {"name": "shipping", "description": "questions about delivery and parcels"},
    ]
    classify = node(
        "classify",
        "intent_classifier",
        {"query": ref("start", "q")},
        config={"model": "test/classifier", "intents": intents},
    )
    said = [
        node(
            f"to_{n}", "llm", {"q": ref("start", "q")}, config={"model": "scripted/echo", "prompt": f"{n}: {{{{ q }}}}"}
        )
        for n in ("refund", "shipping", "other")
    ]
    edges = chain("start", "classify")
    for name in ("refund", "shipping", "other"):
        edges += [{"source": "classify", "target": f"to_{name}", "source_handle": name}, *chain(f"to_{name}", "end")]
    end = node("end", "end", {"intent": ref("classify", "intent"), "id": ref("classify", "classification_id")})
    return make_doc([classify, *said, end], edges)


async def test_intent_classifier_takes_the_branch_of_the_intent_the_model_picks() -> None:
    model = ScriptedChatModel([pick_intent], loop=True)
    services = Services(models=Models(test_classifier=model))
    cases = (("where are my parcels", "shipping", 2), ("I want my money now", "refund", 1), ("hello there", "other", 0))
    for text, intent, number in cases:
        events = await run(classifier_doc(), {"q": text}, services)
        assert events[-1].outputs == {"intent": intent, "id": number}  # type: ignore[union-attr]
        ran = [e.node_id for e in events if isinstance(e, NodeFinished) and e.node_id.startswith("to_")]
        assert ran == [f"to_{intent}"]
    prompt = model.calls[0]
    assert '"content": "questions about delivery and parcels"' in prompt[0].text and prompt[1].text == cases[0][0]


async def test_intent_classifier_fails_on_a_reply_without_a_classification() -> None:
    services = Services(models=Models(test_classifier=ScriptedChatModel(["I think it is about shipping"])))
    events = await run(classifier_doc(), {"q": "parcel"}, services)
    assert isinstance(events[-1], RunFailed)
    assert "the model did not answer with a classification" in events[-1].error


def extractor_doc(model: str = "test/extractor") -> WorkflowDoc:
    parameters = [
        {"name": "city", "type": "string", "description": "where"},
        {"name": "nights", "type": "integer"},
        {"name": "breakfast", "type": "boolean", "required": False, "default": False},
    ]
    extract = node(
        "x", "parameter_extractor", {"text": ref("start", "q")}, config={"model": model, "parameters": parameters}
    )
    end = node(
        "end", "end", {"city": ref("x", "city"), "nights": ref("x", "nights"), "breakfast": ref("x", "breakfast")}
    )
    return make_doc([extract, end], chain("start", "x", "end"))


async def test_parameter_extractor_gives_typed_outputs_and_asks_again_on_a_bad_reply() -> None:
    model = ScriptedChatModel(['{"city": "Oslo", "nights": "many"}', '```json\n{"city": "Oslo", "nights": "3"}\n```'])
    events = await run(extractor_doc(), {"q": "three nights in Oslo"}, Services(models=Models(test_extractor=model)))
    assert events[-1].outputs == {"city": "Oslo", "nights": 3, "breakfast": False}  # type: ignore[union-attr]
    retry = model.calls[1]
    assert retry[-1].role == "user" and "'nights' should be integer, got string" in retry[-1].text
    assert '"name": "nights", "type": "integer"' in model.calls[0][0].text


async def test_parameter_extractor_fails_after_its_attempts() -> None:
    model = ScriptedChatModel(["no idea", '{"city": 4}'])
    events = await run(extractor_doc(), {"q": "hm"}, Services(models=Models(test_extractor=model)))
    assert isinstance(events[-1], RunFailed)
    assert "'nights' (integer) is required" in events[-1].error


class LocalBots:
    """Bots as ReAct agents on the scripted echo model, by id: a BotRunner without the platform."""

    def __init__(self) -> None:
        self.requests: list[tuple[BotRequest, dict[str, Any]]] = []

    async def run_bot(
        self, request: BotRequest, system: Mapping[str, Any], on_delta: Callable[[str], None] | None = None
    ) -> BotAnswer:
        self.requests.append((request, dict(system)))
        agent = ReactAgent(ScriptedChatModel.echo())
        async for event in agent.run([Message.user(f"{request.bot_id} heard: {request.message}")]):
            if isinstance(event, AnswerDelta) and on_delta is not None:
                on_delta(event.text)
            if isinstance(event, Answered):
                return BotAnswer(text=event.message.text, conversation_id="c9")
        raise AssertionError("the agent did not answer")


def agent_doc() -> WorkflowDoc:
    agent = node("bot", "agent", {"message": ref("start", "q")}, config={"bot_id": "helper"})
    return make_doc([agent, node("end", "end", {"answer": ref("bot", "answer")})], chain("start", "bot", "end"))


async def test_agent_runs_a_bot_through_the_bot_runner_and_streams_its_answer() -> None:
    bots = LocalBots()
    services = Services(extras={BotRunner: bots})
    events = await run(agent_doc(), {"q": "hi there"}, services, stream=True, system={"user_id": "u7"})
    assert events[-1].outputs == {"answer": "helper heard: hi there"}  # type: ignore[union-attr]
    assert (
        "".join(e.chunk for e in events if isinstance(e, NodeChunk) and e.node_id == "bot") == "helper heard: hi there"
    )
    assert bots.requests[0][0].message == "hi there" and bots.requests[0][1] == {"user_id": "u7"}


async def test_platform_nodes_fail_clearly_in_a_local_run() -> None:
    events = await run(agent_doc(), {"q": "hi"}, Services())
    assert isinstance(events[-1], RunFailed)
    assert "an agent node runs a bot of the workspace, and this run has no BotRunner" in events[-1].error


async def test_message_output_is_sent_mid_run_before_the_end() -> None:
    say = node("say", "message", {"q": ref("start", "q")}, config={"template": "Looking up {{ q }}..."})
    work = node("work", "llm", {"q": ref("start", "q")}, config={"model": "scripted/echo", "prompt": "{{ q }} found"})
    end = node("end", "end", {"r": ref("work", "text")}, config={"mode": "answer", "template": "{{ r }}"})
    doc = make_doc([say, work, end], chain("start", "say", "work", "end"))
    events = await run(doc, {"q": "tides"}, Services(models=Models()))
    messages = [(e.node_id, e.content, e.stream_end) for e in events if isinstance(e, MessageOut)]
    assert messages == [("say", "Looking up tides...", True), ("end", "tides found", True)]
    kinds = [type(e).__name__ + ":" + getattr(e, "node_id", "") for e in events]
    assert kinds.index("MessageOut:say") < kinds.index("NodeStarted:work")
    assert finished(events, "say").outputs == {"output": "Looking up tides..."}


class MemoryConversations:
    def __init__(self) -> None:
        self.messages: dict[str, list[ConversationMessage]] = {}

    async def recent_messages(
        self, conversation_id: str, limit: int, system: Mapping[str, Any]
    ) -> Sequence[ConversationMessage]:
        return self.messages.get(conversation_id, [])[-limit:]

    async def add_message(
        self, conversation_id: str, role: str, content: str, system: Mapping[str, Any]
    ) -> ConversationMessage:
        found = self.messages.setdefault(conversation_id, [])
        found.append(ConversationMessage(id=f"m{len(found) + 1}", role=role, content=content))
        return found[-1]


async def test_chatflow_reads_its_history_and_adds_a_message() -> None:
    conversations = MemoryConversations()
    for role, text in (("user", "one"), ("assistant", "two"), ("user", "three")):
        await conversations.add_message("c1", role, text, {})
    history = node("history", "conversation_history", {}, config={"limit": 2})
    note = node("note", "create_message", {"content": ref("start", "q")}, config={"role": "assistant"})
    end = node("end", "end", {"messages": ref("history", "messages"), "added": ref("note", "message")})
    doc = make_doc([history, note, end], chain("start", "history", "note", "end"))
    services = Services(extras={Conversations: conversations})
    events = await run(doc, {"q": "noted"}, services, system={"conversation_id": "c1"})
    outputs = events[-1].outputs  # type: ignore[union-attr]
    assert [(m["role"], m["content"]) for m in outputs["messages"]] == [("assistant", "two"), ("user", "three")]
    assert outputs["added"] == {"id": "m4", "role": "assistant", "content": "noted", "content_type": "text"}
    assert [m.content for m in conversations.messages["c1"]][-1] == "noted"

    events = await run(doc, {"q": "x"}, services)
    assert isinstance(events[-1], RunFailed) and "no conversation" in events[-1].error
    events = await run(doc, {"q": "x"}, Services(), system={"conversation_id": "c1"})
    assert isinstance(events[-1], RunFailed) and "this run has no Conversations" in events[-1].error


class MemoryDatasets:
    def __init__(self) -> None:
        self.documents: list[tuple[str, str, str]] = []

    async def add_text(self, dataset_id: str, name: str, text: str, system: Mapping[str, Any]) -> WrittenDocument:
        self.documents.append((dataset_id, name, text))
        return WrittenDocument(document_id=f"d{len(self.documents)}", name=name)


@pytest.mark.parametrize(("name", "expected"), [(None, "Tide tables"), ("notes.txt", "notes.txt")])
async def test_knowledge_write_adds_text_to_the_dataset(name: str | None, expected: str) -> None:
    inputs = {"text": ref("start", "q")} | ({"name": name} if name else {})
    write = node("write", "knowledge_write", inputs, config={"dataset_id": "ds1"})
    doc = make_doc([write, node("end", "end", {"id": ref("write", "document_id")})], chain("start", "write", "end"))
    datasets = MemoryDatasets()
    events = await run(doc, {"q": "Tide tables\nHigh water at 6."}, Services(extras={KnowledgeWriter: datasets}))
    assert isinstance(events[-1], RunFinished) and events[-1].outputs == {"id": "d1"}
    assert datasets.documents == [("ds1", expected, "Tide tables\nHigh water at 6.")]

    events = await run(doc, {"q": "x"}, Services())
    assert isinstance(events[-1], RunFailed) and "this run has no KnowledgeWriter" in events[-1].error
