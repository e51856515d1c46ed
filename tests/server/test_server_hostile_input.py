"""Messages a client enters are checked against what later chats read back (role, type, a function call's
JSON), and a malformed row stored before those checks existed no longer fails every later chat of its section."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cozepy import ChatStatus, Coze, Message
from server_harness import Running

from plait.platform.chat_prompt import text_of, to_messages
from plait.settings import Settings
from plait.store import UnitOfWork, create_engine, session_factory
from plait.store.tables import Message as MessageRow

CALL = json.dumps({"id": "c1", "name": "lookup", "arguments": {"city": "Paris"}})


def _row(role: str, kind: str, content: str, content_type: str = "text", **meta: str) -> MessageRow:
    return MessageRow(role=role, type=kind, content=content, content_type=content_type, meta_data=meta)


# --- the history builder reads bad rows leniently ---------------------------------------------------------------


def test_a_malformed_function_call_is_left_out_with_its_output() -> None:
    rows = [
        _row("user", "question", "q1"),
        _row("assistant", "function_call", "not json"),
        _row("assistant", "tool_output", "orphan", tool_call_id=""),
        _row("assistant", "answer", "a1"),
        _row("user", "question", "q2"),
    ]
    assert [(m.role, m.text) for m in to_messages(rows)] == [
        ("user", "q1"),
        ("assistant", "a1"),
        ("user", "q2"),
    ]


def test_calls_and_outputs_reach_the_model_only_in_pairs() -> None:
    unanswered = json.dumps({"id": "c2", "name": "lookup", "arguments": {}})
    rows = [
        _row("user", "question", "q"),
        _row("assistant", "function_call", CALL),
        _row("assistant", "function_call", unanswered),  # a chat canceled while it waited for this output
        _row("assistant", "tool_output", "sunny", tool_call_id="c1"),
        _row("assistant", "tool_output", "from nowhere", tool_call_id="c9"),
        _row("user", "question", "next"),
    ]
    messages = to_messages(rows)
    assert [m.role for m in messages] == ["user", "assistant", "tool", "user"]
    assert [c.id for c in messages[1].tool_calls] == ["c1"] and messages[2].tool_call_id == "c1"


@pytest.mark.parametrize("content", ["not json", '{"type": "text"}', "[1]", '[{"type": "text"}]'])
def test_unreadable_object_string_content_is_read_as_its_text(content: str) -> None:
    assert text_of("object_string", content) == content


# --- entered messages are checked (4000) ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def http(server: Running, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


@pytest.fixture(scope="module")
def bot_id(coze: Coze, space_id: str) -> str:
    bot = coze.bots.create(space_id=space_id, name="Prompt", model_info_config={"model_id": "scripted/prompt"})
    coze.bots.publish(bot_id=bot.bot_id)
    return bot.bot_id


def _answer(coze: Coze, conversation_id: str, chat_id: str) -> str:
    """What ``scripted/prompt`` answered: the prompt, a ``role: text`` paragraph per message."""
    return next(
        m.content
        for m in coze.chat.messages.list(conversation_id=conversation_id, chat_id=chat_id)
        if m.type == "answer"
    )


def _refused(response: httpx.Response, *words: str) -> None:
    body = response.json()
    assert response.status_code == 400 and body["code"] == 4000, body
    assert all(word in body["msg"] for word in words), body["msg"]


BAD = [
    ({"role": "user", "type": "function_call", "content": CALL}, ["type", "question"]),
    ({"role": "user", "type": "answer", "content": "x"}, ["type"]),
    ({"role": "assistant", "type": "question", "content": "x"}, ["type", "answer"]),
    ({"role": "assistant", "type": "verbose", "content": "{}"}, ["type"]),
    ({"role": "assistant", "type": "function_call", "content": "not json"}, ["function_call", "not JSON"]),
    ({"role": "assistant", "type": "function_call", "content": '{"arguments": {}}'}, ["function_call", "name"]),
    ({"role": "assistant", "type": "function_call", "content": '{"id": 7, "name": "f"}'}, ["id"]),
    (
        {"role": "assistant", "type": "function_call", "content": '[{"type": "text", "text": "x"}]'},
        ["function_call"],
    ),
    (
        {
            "role": "assistant",
            "type": "tool_output",
            "content": '[{"type": "text", "text": "x"}]',
            "content_type": "object_string",
        },
        ["content_type", "text"],
    ),
]


@pytest.mark.parametrize(
    ("message", "words"), BAD, ids=[f"{m['role']}-{m['type']}-{i}" for i, (m, _) in enumerate(BAD)]
)
def test_bad_entered_messages_are_refused(
    http: httpx.Client, bot_id: str, message: dict[str, Any], words: list[str]
) -> None:
    conversation = http.post("/v1/conversation/create", json={"bot_id": bot_id}).json()["data"]["id"]
    created = http.post(f"/v1/conversation/message/create?conversation_id={conversation}", json=message)
    _refused(created, *words)
    _refused(http.post("/v1/conversation/create", json={"bot_id": bot_id, "messages": [message]}), *words)
    chat = {"bot_id": bot_id, "additional_messages": [message, {"role": "user", "content": "go"}]}
    _refused(http.post("/v3/chat", json=chat), *words)
    listed = http.post(f"/v1/conversation/message/list?conversation_id={conversation}", json={})
    assert listed.json()["data"] == []  # nothing was stored


def test_tool_turns_entered_well_feed_the_next_chat(coze: Coze, http: httpx.Client, bot_id: str) -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "type": "function_call", "content": CALL},
        {"role": "assistant", "type": "tool_output", "content": "sunny", "meta_data": {"tool_call_id": "c1"}},
        {"role": "assistant", "type": "answer", "content": "It is sunny."},
    ]
    conversation = http.post("/v1/conversation/create", json={"bot_id": bot_id, "messages": messages})
    conversation_id = conversation.json()["data"]["id"]
    chat = coze.chat.create(
        user_id="u",
        bot_id=bot_id,
        conversation_id=conversation_id,
        additional_messages=[Message.build_user_question_text("thanks")],
    )
    assert chat.status == ChatStatus.COMPLETED, chat.last_error
    answer = _answer(coze, conversation_id, chat.id)
    assert answer.split("\n\n") == [
        "user: weather?",
        "assistant: ",
        "tool: sunny",
        "assistant: It is sunny.",
        "user: thanks",
    ]
    stored = http.post(f"/v1/conversation/message/list?conversation_id={conversation_id}", json={"order": "asc"})
    call_id = next(m["id"] for m in stored.json()["data"] if m["type"] == "function_call")
    modified = http.post(
        f"/v1/conversation/message/modify?conversation_id={conversation_id}&message_id={call_id}",
        json={"content": "now broken"},
    )
    _refused(modified, "function_call")


# --- a row stored before the checks ---------------------------------------------------------------------------


def test_a_malformed_stored_row_does_not_fail_later_chats(
    server: Running, coze: Coze, space_id: str, bot_id: str
) -> None:
    conversation = coze.conversations.create(bot_id=bot_id, messages=[Message.build_user_question_text("earlier")])
    data_dir, url = Path(server.env["PLAIT_DATA_DIR"]), server.env["PLAIT_DATABASE_URL"]
    bad = [  # what the API took before it checked entered messages
        ("assistant", "function_call", "{broken", "text", {}),
        ("assistant", "tool_output", "orphan", "text", {"tool_call_id": ""}),
        ("user", "question", "[not parts", "object_string", {}),
    ]

    async def store_bad_rows() -> None:
        engine = create_engine(Settings.load(data_dir=data_dir, database_url=url).database_url)
        try:
            async with UnitOfWork(session_factory(engine)) as uow:
                for role, kind, content, content_type, meta in bad:
                    row = MessageRow(
                        workspace_id=space_id,
                        conversation_id=conversation.id,
                        section_id=conversation.last_section_id,
                        bot_id=bot_id,
                        role=role,
                        type=kind,
                        content=content,
                        content_type=content_type,
                        meta_data=meta,
                    )
                    await uow.messages.add(row)
        finally:
            await engine.dispose()

    asyncio.run(store_bad_rows())
    for question in ("now", "again"):  # every later chat of the section, not just the first
        chat = coze.chat.create(
            user_id="u",
            bot_id=bot_id,
            conversation_id=conversation.id,
            additional_messages=[Message.build_user_question_text(question)],
        )
        assert chat.status == ChatStatus.COMPLETED, chat.last_error
        answer = _answer(coze, conversation.id, chat.id)
        assert answer.split("\n\n")[:2] == ["user: earlier", "user: [not parts"]
        assert answer.endswith(f"user: {question}") and "broken" not in answer and "orphan" not in answer
