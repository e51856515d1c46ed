"""Memory through the API: users' long-term variables (cozepy's ``variables``) in the persona and in the
agent's read_memory/write_memory tools, summaries of the turns a prompt leaves out, and ``GET /v1/sessions``."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from cozepy import (
    ChatStatus,
    Coze,
    CozeAPIError,
    Message,
    MessageContentType,
    MessageRole,
    MessageType,
    VariableValue,
)
from server_harness import Running

PERSONA = "You help {{name}} from {{city}}."
ASSISTANT, TEXT = MessageRole.ASSISTANT, MessageContentType.TEXT


def _bot(server: Running, token: str, coze: Coze, space_id: str, model: str, context_round: int = 20) -> str:
    bot_id = coze.bots.create(
        space_id=space_id,
        name=f"Memo {model}",
        prompt_info={"prompt": PERSONA},
        model_info_config={"model_id": model, "context_round": context_round},
    ).bot_id
    update = {
        "bot_id": bot_id,
        "variables": [
            {"keyword": "name", "default_value": "someone", "description": "what the user is called"},
            {"keyword": "city", "default_value": "somewhere"},
        ],
    }
    answer = httpx.post(f"{server.base_url}/v1/bot/update", json=update, headers={"authorization": f"Bearer {token}"})
    assert answer.json()["code"] == 0
    coze.bots.publish(bot_id=bot_id)
    return bot_id


@pytest.fixture(scope="module")
def prompt_bot(server: Running, token: str, coze: Coze, space_id: str) -> str:
    return _bot(server, token, coze, space_id, "scripted/prompt", context_round=1)


@pytest.fixture(scope="module")
def tool_bot(server: Running, token: str, coze: Coze, space_id: str) -> str:
    return _bot(server, token, coze, space_id, "scripted/tools")


def _answer(
    coze: Coze, bot_id: str, text: str, user: str, conversation_id: str | None = None, **options: object
) -> str:
    chat = coze.chat.create(
        user_id=user,
        bot_id=bot_id,
        conversation_id=conversation_id,
        additional_messages=[Message.build_user_question_text(text)],
        **options,  # type: ignore[arg-type]
    )
    assert chat.status == ChatStatus.COMPLETED
    messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    return next(m.content for m in messages if m.type == "answer")


def _values(coze: Coze, bot_id: str, uid: str, *keywords: str) -> dict[str, str]:
    items = coze.variables.retrieve(connector_uid=uid, keywords=list(keywords), bot_id=bot_id)
    return {item.keyword: item.value for item in items}


def test_variables_are_kept_per_user_and_fill_the_persona(coze: Coze, prompt_bot: str) -> None:
    assert _values(coze, prompt_bot, "ann") == {"city": "somewhere", "name": "someone"}  # the defaults
    coze.variables.update(
        connector_uid="ann", bot_id=prompt_bot, data=[VariableValue(keyword="name", value="Ann", create_time=0)]
    )
    coze.variables.update(connector_uid="ann", bot_id=prompt_bot, data=[VariableValue(keyword="name", value="Annie")])
    items = list(coze.variables.retrieve(connector_uid="ann", keywords=["name"], bot_id=prompt_bot))
    assert [(i.keyword, i.value) for i in items] == [("name", "Annie")] and items[0].update_time > 0
    assert _values(coze, prompt_bot, "bob", "name") == {"name": "someone"}  # another user's are their own
    assert _answer(coze, prompt_bot, "hi", "ann").startswith("system: You help Annie from somewhere.")
    custom = _answer(coze, prompt_bot, "hi", "ann", custom_variables={"name": "Captain"})
    assert custom.startswith("system: You help Captain from somewhere.")  # the chat's own values come first


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"bot_id": "nobot", "connector_uid": "ann"}, 4200, "not found"),
        ({"connector_uid": "ann"}, 4000, "bot_id"),
        ({"app_id": "app", "connector_uid": "ann"}, 4000, "apps are not supported"),
        ({"connector_uid": "", "bot_id": "{bot}"}, 4000, "connector_uid"),
        ({"connector_uid": "ann", "bot_id": "{bot}", "keywords": "name,shoe"}, 4000, "'shoe' is not a variable"),
    ],
)
def test_reading_variables_refuses_bad_input(
    server: Running, token: str, prompt_bot: str, params: dict[str, str], code: int, message: str
) -> None:
    query = {key: value.replace("{bot}", prompt_bot) for key, value in params.items()}
    answer = httpx.get(f"{server.base_url}/v1/variables", params=query, headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == (404 if code == 4200 else 400)
    assert answer.json()["code"] == code and message in answer.json()["msg"]


@pytest.mark.parametrize(
    ("data", "uid", "message"),
    [
        ([("shoe", "42")], "ann", "'shoe' is not a variable of this bot"),
        ([("name", "x" * 2001)], "ann", "data[0].value: 2001 characters; at most 2000"),
        ([("name", "a"), ("name", "b")], "ann", "given twice"),
        ([], "ann", "at least one variable"),
        ([("name", "a")], "", "connector_uid: required"),
        ([("name", "a")], "u" * 256, "connector_uid: at most 255"),
    ],
)
def test_writing_variables_refuses_bad_input(
    coze: Coze, prompt_bot: str, data: list[tuple[str, str]], uid: str, message: str
) -> None:
    values = [VariableValue(keyword=keyword, value=value) for keyword, value in data]
    with pytest.raises(CozeAPIError) as caught:
        coze.variables.update(connector_uid=uid, bot_id=prompt_bot, data=values)
    assert caught.value.code == 4000 and message in (caught.value.msg or "")


def test_writing_variables_of_an_unknown_bot_or_with_a_bad_body_is_refused(server: Running, token: str) -> None:
    headers = {"authorization": f"Bearer {token}"}
    unknown = {"bot_id": "nobot", "connector_uid": "ann", "data": [{"keyword": "name", "value": "a"}]}
    answer = httpx.put(f"{server.base_url}/v1/variables", json=unknown, headers=headers)
    assert answer.status_code == 404 and answer.json()["code"] == 4200
    bad = {"bot_id": "nobot", "connector_uid": "ann", "data": [{"keyword": "name", "value": 5}]}
    answer = httpx.put(f"{server.base_url}/v1/variables", json=bad, headers=headers)
    assert answer.status_code == 400 and answer.json()["code"] == 4000 and "data.0.value" in answer.json()["msg"]


def test_viewers_cannot_write_variables(server: Running, prompt_bot: str) -> None:
    viewer = server.coze(server.make_key("--user", "watcher", "--role", "viewer"))
    with pytest.raises(CozeAPIError) as caught:
        viewer.variables.update(connector_uid="ann", bot_id=prompt_bot, data=[VariableValue(keyword="name", value="a")])
    assert caught.value.code == 4101


def test_the_agent_reads_and_writes_the_users_memory(coze: Coze, tool_bot: str) -> None:
    written = _answer(coze, tool_bot, 'call write_memory {"key": "city", "value": "Lyon"}', "cyd")
    assert written == "remembered city"
    assert _values(coze, tool_bot, "cyd", "city") == {"city": "Lyon"}
    assert json.loads(_answer(coze, tool_bot, "call read_memory {}", "cyd")) == {"city": "Lyon", "name": "someone"}
    refused = _answer(coze, tool_bot, 'call write_memory {"key": "shoe", "value": "42"}', "cyd")
    assert "'shoe' is not a variable of this bot" in refused
    too_long = _answer(coze, tool_bot, 'call write_memory {"key": "city", "value": "' + "y" * 2001 + '"}', "cyd")
    assert "at most 2000" in too_long
    assert _values(coze, tool_bot, "cyd", "city") == {"city": "Lyon"}


def test_turns_left_out_of_the_prompt_are_summarised_into_it(coze: Coze, prompt_bot: str) -> None:
    call = json.dumps({"id": "c1", "name": "weather", "arguments": {"city": "Oslo"}})
    earlier = [
        Message.build_user_question_text("q1 what is the weather"),
        Message(role=ASSISTANT, type=MessageType.FUNCTION_CALL, content=call, content_type=TEXT),
        Message(
            role=ASSISTANT,
            type=MessageType.TOOL_OUTPUT,
            content="sunny in Oslo",
            content_type=TEXT,
            meta_data={"tool_call_id": "c1"},
        ),
        Message.build_assistant_answer("a1 it is sunny"),
        Message.build_user_question_text("q2 thanks"),
        Message.build_assistant_answer("a2 welcome"),
    ]
    conversation = coze.conversations.create(bot_id=prompt_bot, messages=earlier)
    first = _answer(coze, prompt_bot, "q3", "dan", conversation.id)
    assert first.split("\n\n")[-1] == "user: q3" and "q1" not in first and "Summary" not in first
    deadline = time.monotonic() + 10
    while "Summary of the earlier conversation" not in (
        prompt := _answer(coze, prompt_bot, "q4", "dan", conversation.id)
    ):
        assert time.monotonic() < deadline, "no summary reached the prompt"
        time.sleep(0.1)
    system = prompt.split("\n\nuser: q4")[0]
    assert system.startswith("system: You help someone from somewhere.\n\nsystem: Summary of the earlier conversation")
    assert "User: q1 what is the weather" in system and "User: q2 thanks" in system
    assert 'Assistant called a tool: {"id": "c1"' in system and "Tool returned: sunny in Oslo" in system


def test_sessions_are_listed_per_bot_and_user(server: Running, token: str, coze: Coze, tool_bot: str) -> None:
    _answer(coze, tool_bot, "hello", "eve")
    headers = {"authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 10
    while True:
        answer = httpx.get(
            f"{server.base_url}/v1/sessions", params={"bot_id": tool_bot, "user_id": "eve"}, headers=headers
        ).json()
        if answer["data"]["items"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    (session,) = answer["data"]["items"]
    assert session["status"] == "active" and session["chat_count"] >= 1 and session["bot_id"] == tool_bot
    assert session["expires_at"] == session["last_active_at"] + 7 * 86400
    missing = httpx.get(f"{server.base_url}/v1/sessions", params={"bot_id": "nobot"}, headers=headers)
    assert missing.status_code == 404 and missing.json()["code"] == 4200
    no_bot = httpx.get(f"{server.base_url}/v1/sessions", headers=headers)
    assert no_bot.status_code == 400 and no_bot.json()["code"] == 4000
