"""The nodes that reach the platform, through the Coze API on SQLite and PostgreSQL: agent (a bot of the
workspace), knowledge_write (a document the dataset then answers from), sub_workflow (a published workflow),
tool (a built-in and a workspace plugin), conversation_history and create_message (a chatflow's conversation).
Each is refused what belongs to another workspace: its ids read as missing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from cozepy import ChatEventType, Coze, CozeAPIError, DocumentFormatType, Message
from server_harness import Running
from test_plugins_api import _ok, _openapi
from test_plugins_api import pets as pet_service  # noqa: F401 (a fixture: the local pet service)
from test_workflows_api import ECHO, _post

Publish = Callable[[dict[str, Any]], str]


@pytest.fixture(scope="module")
def publish(server: Running, token: str) -> Publish:
    """A workflow document created and published in the default workspace: its id."""

    def make(document: dict[str, Any]) -> str:
        created = _post(server, token, "/v1/workflows", {"document": document, "publish": True})
        assert created["code"] == 0, created
        workflow_id: str = created["data"]["workflow_id"]
        return workflow_id

    return make


@pytest.fixture(scope="module")
def other(server: Running) -> tuple[Coze, str, str]:
    """Another workspace: its client, key and space id."""
    key = server.make_key("--workspace", "Workflow neighbours")
    coze = server.coze(key)
    return coze, key, coze.workspaces.list().items[0].id


def _ref(node: str, output: str) -> dict[str, Any]:
    return {"ref": {"node": node, "output": output}}


def _one_node(name: str, node: dict[str, Any], outputs: dict[str, str], inputs: list[str]) -> dict[str, Any]:
    """start -> node -> end: the node reads the run's inputs of its input names, the end its outputs."""
    node = {"id": "step", **node, "inputs": {name: _ref("start", name) for name in inputs} | node.get("inputs", {})}
    return {
        "name": name,
        "inputs": [{"name": name, "type": "string"} for name in inputs],
        "nodes": [
            {"id": "start", "type": "start"},
            node,
            {"id": "end", "type": "end", "inputs": {key: _ref("step", out) for key, out in outputs.items()}},
        ],
        "edges": [{"source": "start", "target": "step"}, {"source": "step", "target": "end"}],
    }


def _run(coze: Coze, workflow_id: str, parameters: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(coze.workflows.runs.create(workflow_id=workflow_id, parameters=parameters).data)
    return data


def _refused(coze: Coze, workflow_id: str, parameters: dict[str, Any]) -> str:
    """The run failed in its node (5004): the node's error."""
    with pytest.raises(CozeAPIError) as failed:
        coze.workflows.runs.create(workflow_id=workflow_id, parameters=parameters)
    assert failed.value.code == 5004, failed.value
    return failed.value.msg or ""


def _bot(coze: Coze, space_id: str, name: str, persona: str) -> str:
    bot_id: str = coze.bots.create(
        space_id=space_id,
        name=name,
        prompt_info={"prompt": persona},
        model_info_config={"model_id": "scripted/prompt"},  # answers with its whole prompt: the persona shows
    ).bot_id
    coze.bots.publish(bot_id=bot_id)
    return bot_id


def test_an_agent_node_chats_with_a_bot_of_the_workspace(
    coze: Coze, space_id: str, publish: Publish, other: tuple[Coze, str, str]
) -> None:
    bot_id = _bot(coze, space_id, "Helper", "You are Helper-Bot.")
    agent = {"type": "agent", "config": {"bot_id": bot_id}}
    workflow_id = publish(
        _one_node("ask helper", agent, {"answer": "answer", "conversation": "conversation_id"}, ["message"])
    )
    outputs = _run(coze, workflow_id, {"message": "what is plait?"})
    assert "You are Helper-Bot." in outputs["answer"] and "what is plait?" in outputs["answer"]
    saved = coze.conversations.messages.list(conversation_id=outputs["conversation"])
    assert [(m.role, m.type) for m in saved] == [("assistant", "answer"), ("user", "question")]  # newest first
    foreign = _bot(other[0], other[2], "Neighbour", "You belong elsewhere.")
    stranger = publish(_one_node("ask neighbour", {"type": "agent", "config": {"bot_id": foreign}}, {}, ["message"]))
    assert f"bot {foreign} not found" in _refused(coze, stranger, {"message": "hi"})


def _ingested(coze: Coze, dataset_id: str, document_id: str) -> None:
    deadline = time.monotonic() + 30
    while coze.datasets.process(dataset_id=dataset_id, document_ids=[document_id])[0].status != 1:
        assert time.monotonic() < deadline, "the written document was not ingested"
        time.sleep(0.1)


def test_knowledge_write_adds_a_document_the_dataset_answers_from(
    coze: Coze, space_id: str, publish: Publish, other: tuple[Coze, str, str]
) -> None:
    dataset_id = coze.datasets.create(
        name="notes", space_id=space_id, format_type=DocumentFormatType.DOCUMENT
    ).dataset_id
    write = {"type": "knowledge_write", "config": {"dataset_id": "notes"}}  # by name, as a shipped file would
    writer = publish(_one_node("take note", write, {"id": "document_id", "name": "name"}, ["text"]))
    written = _run(coze, writer, {"text": "Parking\nThe staff car park opens at 7 am."})
    assert written["name"] == "Parking"
    _ingested(coze, dataset_id, written["id"])
    search = {"type": "knowledge_retrieval", "config": {"dataset_ids": [dataset_id], "top_k": 1}}
    reader = publish(_one_node("read notes", search, {"text": "text"}, ["query"]))
    assert "car park opens at 7 am" in _run(coze, reader, {"query": "When does the car park open?"})["text"]
    foreign = other[0].datasets.create(name="theirs", space_id=other[2], format_type=DocumentFormatType.DOCUMENT)
    stranger = publish(
        _one_node(
            "write theirs", {"type": "knowledge_write", "config": {"dataset_id": foreign.dataset_id}}, {}, ["text"]
        )
    )
    assert f"dataset {foreign.dataset_id} not found" in _refused(coze, stranger, {"text": "mine now"})
    assert other[0].datasets.documents.list(dataset_id=foreign.dataset_id).total == 0


def test_a_sub_workflow_node_runs_a_published_workflow_of_the_workspace(
    coze: Coze, server: Running, token: str, publish: Publish, other: tuple[Coze, str, str]
) -> None:
    child = publish({**ECHO, "name": "child echo"})
    for target in (child, "child echo"):  # by id, or by name
        call = {"type": "sub_workflow", "config": {"workflow_id": target}}
        parent = publish(_one_node(f"parent of {target}", call, {"said": "echo"}, ["text"]))
        assert _run(coze, parent, {"text": "nested"}) == {"said": "nested"}
    draft = _post(server, token, "/v1/workflows", {"document": {**ECHO, "name": "draft child"}})["data"]
    unpublished = publish(
        _one_node(
            "calls a draft", {"type": "sub_workflow", "config": {"workflow_id": draft["workflow_id"]}}, {}, ["text"]
        )
    )
    assert "is not published" in _refused(coze, unpublished, {"text": "x"})
    foreign = _post(server, other[1], "/v1/workflows", {"document": {**ECHO, "name": "theirs"}, "publish": True})
    theirs = foreign["data"]["workflow_id"]
    stranger = publish(
        _one_node("calls theirs", {"type": "sub_workflow", "config": {"workflow_id": theirs}}, {}, ["text"])
    )
    assert f"no workflow '{theirs}'" in _refused(coze, stranger, {"text": "x"})


def test_a_tool_node_calls_built_ins_and_the_workspace_plugins(
    coze: Coze,
    server: Running,
    token: str,
    space_id: str,
    publish: Publish,
    pet_service: str,  # noqa: F811 (the fixture imported above)
    other: tuple[Coze, str, str],
) -> None:
    calculator = {"type": "tool", "config": {"tool": "calculator"}, "inputs": {"expression": "6 * 7"}}
    assert _run(coze, publish(_one_node("calc", calculator, {"out": "output"}, [])), {})["out"]["result"] == 42
    _ok(server, token, "POST", "/v1/plugins/create", json=_openapi(space_id, "pets", pet_service, internal=True))
    pet = {"type": "tool", "config": {"tool": "pets/get_pet"}}
    fetched = _run(coze, publish(_one_node("pet", pet, {"out": "output"}, ["pet_id"])), {"pet_id": "7"})["out"]
    assert fetched["status"] == 200 and fetched["body"] == {"id": "7", "name": "Rex"}  # the key was sent
    _ok(
        server,
        other[1],
        "POST",
        "/v1/plugins/create",
        json=_openapi(other[2], "their_pets", pet_service, internal=True),
    )
    theirs = {"type": "tool", "config": {"tool": "their_pets/get_pet"}}
    stranger = publish(_one_node("their pet", theirs, {}, ["pet_id"]))
    assert "no tool named 'their_pets/get_pet'" in _refused(coze, stranger, {"pet_id": "7"})


CHATFLOW: dict[str, Any] = {
    "name": "note taker",
    "kind": "chatflow",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "history", "type": "conversation_history", "config": {"limit": 10}},
        {
            "id": "note",
            "type": "create_message",
            "inputs": {"content": _ref("$sys", "query")},
        },
        {"id": "end", "type": "end", "inputs": {"seen": _ref("history", "messages"), "noted": _ref("note", "message")}},
    ],
    "edges": [
        {"source": "start", "target": "history"},
        {"source": "history", "target": "note"},
        {"source": "note", "target": "end"},
    ],
}


def _chat(coze: Coze, workflow_id: str, text: str, conversation_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """One chatflow turn: its conversation, and its answer (the end node's outputs)."""
    question = Message.build_user_question_text(text)
    events = list(
        coze.workflows.chat.stream(
            workflow_id=workflow_id, additional_messages=[question], conversation_id=conversation_id
        )
    )
    assert events[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED, events[-1]
    chat = events[-1].chat
    assert chat is not None
    answer = next(
        e.message.content for e in events if e.event == ChatEventType.CONVERSATION_MESSAGE_COMPLETED and e.message
    )
    return chat.conversation_id, json.loads(answer)


def test_a_chatflow_reads_and_writes_its_conversation(coze: Coze, publish: Publish) -> None:
    workflow_id = publish(CHATFLOW)
    conversation_id, first = _chat(coze, workflow_id, "hello")
    assert [(m["role"], m["content"]) for m in first["seen"]] == [("user", "hello")]
    assert first["noted"]["role"] == "assistant" and first["noted"]["content"] == "hello"
    _, second = _chat(coze, workflow_id, "again", conversation_id)
    said = [(m["role"], m["content"]) for m in second["seen"]]
    assert len(said) == 4 and said[0] == ("user", "hello") and said[-1] == ("user", "again")
    noted, answered = sorted(said[1:3], key=lambda message: message[1] != "hello")  # the note, turn 1's answer
    assert noted == ("assistant", "hello") and json.loads(answered[1])["noted"]["content"] == "hello"


def test_conversation_nodes_reach_only_the_workspace_conversations(
    coze: Coze, publish: Publish, other: tuple[Coze, str, str]
) -> None:
    reader = publish(
        _one_node("history of", {"type": "conversation_history"}, {"seen": "messages"}, ["conversation_id"])
    )
    mine = coze.conversations.create(messages=[Message.build_user_question_text("kept")]).id
    assert [m["content"] for m in _run(coze, reader, {"conversation_id": mine})["seen"]] == ["kept"]
    theirs = other[0].conversations.create(messages=[Message.build_user_question_text("private")]).id
    assert f"conversation {theirs} not found" in _refused(coze, reader, {"conversation_id": theirs})
    writer = publish(
        _one_node(
            "write to", {"type": "create_message", "inputs": {"content": "psst"}}, {"m": "message"}, ["conversation_id"]
        )
    )
    assert f"conversation {theirs} not found" in _refused(coze, writer, {"conversation_id": theirs})
    assert [m.content for m in other[0].conversations.messages.list(conversation_id=theirs)] == ["private"]
