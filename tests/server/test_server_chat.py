"""Chat v3 as the unmodified cozepy SDK drives it (sync and async), on SQLite and PostgreSQL: answers, streams,
history, client tools, cancel, failures, workspace isolation and bad input."""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cozepy import (
    AsyncCoze,
    AsyncHTTPClient,
    AsyncTokenAuth,
    ChatEventType,
    ChatStatus,
    Coze,
    CozeAPIError,
    Message,
    ToolOutput,
)
from server_harness import Running

from plait.models.registry import ProviderConfig, default_registry

CLIENT_TOOL = {
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module", autouse=True)
def extra_providers() -> Iterator[None]:
    """A scripted provider that streams a word every 50 ms (long enough to cancel or leave mid-answer), and
    one nothing listens for (port 9), whose every call fails at once, inside the bot's graph."""
    registry = default_registry()
    registry.add_provider(
        ProviderConfig(name="slowscript", kind="scripted", models=("echo",), default_options={"token_delay": 0.05})
    )
    registry.add_provider(
        ProviderConfig(
            name="nowhere", kind="openai_compat", base_url="http://127.0.0.1:9/v1", max_retries=0, models=("m",)
        )
    )
    yield
    registry.remove_provider("slowscript")
    registry.remove_provider("nowhere")


def _bot(coze: Coze, space_id: str, model_id: str, **fields: Any) -> str:
    bot_id = coze.bots.create(
        space_id=space_id, name=f"bot {model_id}", model_info_config={"model_id": model_id}
    ).bot_id
    if fields:
        _post(coze, "/v1/bot/update", {"bot_id": bot_id, **fields})
    coze.bots.publish(bot_id=bot_id)
    return bot_id


def _post(coze: Coze, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A raw call for what cozepy cannot send (Plait's extension fields, malformed bodies)."""
    response = httpx.post(coze._base_url + path, json=body, headers={"authorization": f"Bearer {_token(coze)}"})
    payload: dict[str, Any] = response.json()
    return payload


def _token(coze: Coze) -> str:
    return str(coze._auth.token)


@pytest.fixture(scope="module")
def echo_bot(coze: Coze, space_id: str) -> str:
    return _bot(coze, space_id, "scripted/echo")


@pytest.fixture(scope="module")
def tool_bot(coze: Coze, space_id: str) -> str:
    return _bot(coze, space_id, "scripted/tools", tools=[CLIENT_TOOL])


def _code(call: Any) -> int:
    with pytest.raises(CozeAPIError) as error:
        call()
    return int(error.value.code or 0)


def test_a_non_streamed_chat_answers_and_saves_the_turn(coze: Coze, echo_bot: str) -> None:
    chat = coze.chat.create(user_id="u1", bot_id=echo_bot, additional_messages=[Message.build_user_question_text("Hi")])
    assert chat.status == ChatStatus.COMPLETED
    assert chat.usage is not None and chat.usage.output_count == 1
    messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert [(m.role, m.type, m.content) for m in messages] == [
        ("user", "question", "Hi"),
        ("assistant", "answer", "Hi"),
    ]
    retrieved = coze.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert (retrieved.status, retrieved.completed_at) == (ChatStatus.COMPLETED, chat.completed_at)
    history = list(coze.conversations.messages.list(conversation_id=chat.conversation_id, order="asc"))
    assert [m.content for m in history] == ["Hi", "Hi"]


def test_create_and_poll_in_an_existing_conversation(coze: Coze, echo_bot: str) -> None:
    conversation = coze.conversations.create(bot_id=echo_bot)
    for text in ("one", "two"):
        result = coze.chat.create_and_poll(
            user_id="u2",
            conversation_id=conversation.id,
            bot_id=echo_bot,
            additional_messages=[Message.build_user_question_text(text)],
        )
        assert result.chat.status == ChatStatus.COMPLETED
        assert [m.content for m in result.messages if m.type == "answer"] == [text]
    history = list(coze.conversations.messages.list(conversation_id=conversation.id, order="asc"))
    assert [m.content for m in history] == ["one", "one", "two", "two"]


def test_the_stream_follows_coze_event_order(coze: Coze, echo_bot: str) -> None:
    events = list(
        coze.chat.stream(
            user_id="u1", bot_id=echo_bot, additional_messages=[Message.build_user_question_text("stream me please")]
        )
    )
    kinds = [e.event for e in events]
    deltas = [e.message.content for e in events if e.event == ChatEventType.CONVERSATION_MESSAGE_DELTA]
    assert kinds[:2] == [ChatEventType.CONVERSATION_CHAT_CREATED, ChatEventType.CONVERSATION_CHAT_IN_PROGRESS]
    assert kinds[-3:] == [
        ChatEventType.CONVERSATION_MESSAGE_COMPLETED,
        ChatEventType.CONVERSATION_MESSAGE_COMPLETED,
        ChatEventType.CONVERSATION_CHAT_COMPLETED,
    ]
    assert "".join(deltas) == "stream me please" and len(deltas) == 3
    answer, verbose = events[-3].message, events[-2].message
    assert (answer.type, answer.content) == ("answer", "stream me please")
    assert verbose.type == "verbose" and json.loads(verbose.content)["msg_type"] == "generate_answer_finish"
    delta_ids = {e.message.id for e in events if e.event == ChatEventType.CONVERSATION_MESSAGE_DELTA}
    assert delta_ids == {answer.id}
    chat = events[-1].chat
    stored = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert [m.id for m in stored if m.type == "answer"] == [answer.id]


def test_client_tools_pause_the_chat_until_their_outputs_arrive(coze: Coze, tool_bot: str) -> None:
    question = Message.build_user_question_text('call get_weather {"city": "Paris"}')
    chat = coze.chat.create(user_id="u1", bot_id=tool_bot, additional_messages=[question])
    assert chat.status == ChatStatus.REQUIRES_ACTION
    assert chat.required_action is not None
    (call,) = chat.required_action.submit_tool_outputs.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
    assert (
        _code(
            lambda: coze.chat.submit_tool_outputs(
                conversation_id=chat.conversation_id,
                chat_id=chat.id,
                tool_outputs=[ToolOutput(tool_call_id="nope", output="x")],
                stream=False,
            )
        )
        == 4000
    )
    done = coze.chat.submit_tool_outputs(
        conversation_id=chat.conversation_id,
        chat_id=chat.id,
        tool_outputs=[ToolOutput(tool_call_id=call.id, output="sunny, 21 C")],
        stream=False,
    )
    assert done.status == ChatStatus.COMPLETED
    messages = coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)
    assert [m.type for m in messages] == ["question", "function_call", "tool_output", "answer"]
    assert messages[-1].content == "sunny, 21 C"
    assert json.loads(messages[1].content)["name"] == "get_weather"
    # once answered, the chat takes no more outputs
    assert (
        _code(
            lambda: coze.chat.submit_tool_outputs(
                conversation_id=chat.conversation_id,
                chat_id=chat.id,
                tool_outputs=[ToolOutput(tool_call_id=call.id, output="x")],
                stream=False,
            )
        )
        == 4000
    )


def test_tool_outputs_can_resume_as_a_stream(coze: Coze, tool_bot: str) -> None:
    events = list(
        coze.chat.stream(
            user_id="u1", bot_id=tool_bot, additional_messages=[Message.build_user_question_text("call get_weather {}")]
        )
    )
    assert events[-1].event == ChatEventType.CONVERSATION_CHAT_REQUIRES_ACTION
    chat = events[-1].chat
    call = chat.required_action.submit_tool_outputs.tool_calls[0]
    resumed = list(
        coze.chat.submit_tool_outputs(
            conversation_id=chat.conversation_id,
            chat_id=chat.id,
            tool_outputs=[ToolOutput(tool_call_id=call.id, output="rain")],
            stream=True,
        )
    )
    assert resumed[-1].event == ChatEventType.CONVERSATION_CHAT_COMPLETED
    assert "".join(e.message.content for e in resumed if e.event == ChatEventType.CONVERSATION_MESSAGE_DELTA) == "rain"


def _slow_stream(coze: Coze, bot_id: str) -> tuple[httpx.Client, Any]:
    """A raw SSE stream of a three-second answer, opened; read it with ``iter_lines``."""
    text = " ".join(f"w{i}" for i in range(60))
    body = {"bot_id": bot_id, "stream": True, "additional_messages": [{"role": "user", "content": text}]}
    client = httpx.Client(base_url=coze._base_url, headers={"authorization": f"Bearer {_token(coze)}"})
    return client, client.stream("POST", "/v3/chat", json=body)


def _events_until_delta(lines: Iterator[str]) -> dict[str, Any]:
    """Read up to the first delta; the chat (from the created event)."""
    chat: dict[str, Any] = {}
    event = ""
    for line in lines:
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:") and event == "conversation.chat.created":
            chat = json.loads(line.removeprefix("data:"))
        elif event == "conversation.message.delta":
            return chat
    raise AssertionError("the stream ended before any delta")


def test_cancel_stops_a_running_chat_and_keeps_what_it_said(coze: Coze, space_id: str) -> None:
    slow = _bot(coze, space_id, "slowscript/echo")
    client, stream = _slow_stream(coze, slow)
    with client, stream as response:
        lines = response.iter_lines()
        chat = _events_until_delta(lines)
        canceled = coze.chat.cancel(conversation_id=chat["conversation_id"], chat_id=chat["id"])
        assert canceled.status == ChatStatus.CANCELED
        rest = list(lines)
    assert [line for line in rest if line][-2:] == ["event: done", 'data: "[DONE]"']  # the stream ends cleanly
    messages = coze.chat.messages.list(conversation_id=chat["conversation_id"], chat_id=chat["id"])
    answer = [m.content for m in messages if m.type == "answer"]
    assert len(answer) == 1 and answer[0].startswith("w0") and len(answer[0].split()) < 60


def test_a_client_that_leaves_cancels_its_chat(coze: Coze, space_id: str) -> None:
    slow = _bot(coze, space_id, "slowscript/echo")
    client, stream = _slow_stream(coze, slow)
    with client, stream as response:
        chat = _events_until_delta(response.iter_lines())
    deadline = time.monotonic() + 10
    while (status := coze.chat.retrieve(conversation_id=chat["conversation_id"], chat_id=chat["id"]).status) in (
        ChatStatus.IN_PROGRESS,
        ChatStatus.CREATED,
    ):
        assert time.monotonic() < deadline, "the run went on after its client left"
        time.sleep(0.05)
    assert status == ChatStatus.CANCELED
    messages = coze.chat.messages.list(conversation_id=chat["conversation_id"], chat_id=chat["id"])
    assert [m.type for m in messages] == ["question", "answer"]
    assert len(messages[1].content.split()) < 60


def test_failures_are_recorded_on_the_chat(coze: Coze, space_id: str) -> None:
    bot = _bot(coze, space_id, "openai/gpt-4o")  # no key on this machine: the model cannot be built
    chat = coze.chat.create(user_id="u1", bot_id=bot, additional_messages=[Message.build_user_question_text("hello")])
    assert chat.status == ChatStatus.FAILED
    assert chat.last_error is not None and "OPENAI_API_KEY" in chat.last_error.msg
    events = list(
        coze.chat.stream(user_id="u1", bot_id=bot, additional_messages=[Message.build_user_question_text("hello")])
    )
    assert events[-1].event == ChatEventType.CONVERSATION_CHAT_FAILED
    unreachable = _bot(coze, space_id, "nowhere/m")
    chat = coze.chat.create(
        user_id="u1", bot_id=unreachable, additional_messages=[Message.build_user_question_text("hi")]
    )
    assert chat.status == ChatStatus.FAILED and chat.last_error is not None
    # The kind of failure, in words for the client: not the graph's wrapper, nor the provider's address.
    assert chat.last_error.code == 5001
    assert chat.last_error.msg == "the model nowhere/m failed or could not be reached; try again later"


def test_a_finished_chat_cannot_be_canceled(coze: Coze, echo_bot: str) -> None:
    chat = coze.chat.create(user_id="u1", bot_id=echo_bot, additional_messages=[Message.build_user_question_text("x")])
    assert _code(lambda: coze.chat.cancel(conversation_id=chat.conversation_id, chat_id=chat.id)) == 4104


def test_bad_chat_requests_get_coze_errors(coze: Coze, echo_bot: str) -> None:
    assert _post(coze, "/v3/chat", {"additional_messages": []})["code"] == 4000  # no bot_id
    assert _post(coze, "/v3/chat", {"bot_id": "1", "additional_messages": []})["code"] == 4000  # nothing to answer
    question = [{"role": "user", "content": "hi", "content_type": "text"}]
    assert _post(coze, "/v3/chat", {"bot_id": "404", "additional_messages": question})["code"] == 4200
    assert (
        _post(coze, "/v3/chat?conversation_id=404", {"bot_id": echo_bot, "additional_messages": question})["code"]
        == 4200
    )
    unsaved = {"bot_id": echo_bot, "additional_messages": question, "auto_save_history": False}
    assert _post(coze, "/v3/chat", unsaved)["code"] == 4000
    broken = [{"role": "user", "content": "[{]", "content_type": "object_string"}]
    assert _post(coze, "/v3/chat", {"bot_id": echo_bot, "additional_messages": broken})["code"] == 4000
    assistant_last = [{"role": "assistant", "content": "hi", "content_type": "text"}]
    assert _post(coze, "/v3/chat", {"bot_id": echo_bot, "additional_messages": assistant_last})["code"] == 4000
    response = httpx.post(
        coze._base_url + "/v3/chat", content=b"{not json", headers={"authorization": f"Bearer {_token(coze)}"}
    )
    assert (response.status_code, response.json()["code"]) == (400, 4000)
    assert _code(lambda: coze.chat.retrieve(conversation_id="1", chat_id="2")) == 4200
    assert _code(lambda: coze.chat.messages.list(conversation_id="1", chat_id="2")) == 4200
    assert _post(coze, "/v3/chat/cancel", {"conversation_id": "1"})["code"] == 4000


def test_an_unsaved_streamed_chat_leaves_no_messages(coze: Coze, echo_bot: str) -> None:
    events = list(
        coze.chat.stream(
            user_id="u1",
            bot_id=echo_bot,
            auto_save_history=False,
            additional_messages=[Message.build_user_question_text("secret")],
        )
    )
    chat = events[-1].chat
    assert chat.status == ChatStatus.COMPLETED
    assert list(coze.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)) == []


def test_another_workspace_cannot_see_or_use_a_chat(server: Running, coze: Coze, echo_bot: str) -> None:
    chat = coze.chat.create(
        user_id="u1", bot_id=echo_bot, additional_messages=[Message.build_user_question_text("mine")]
    )
    other = server.coze(server.make_key("--workspace", "Other team"))
    assert _code(lambda: other.chat.retrieve(conversation_id=chat.conversation_id, chat_id=chat.id)) == 4200
    assert _code(lambda: other.chat.messages.list(conversation_id=chat.conversation_id, chat_id=chat.id)) == 4200
    assert (
        _code(
            lambda: other.chat.create(
                user_id="u1", bot_id=echo_bot, additional_messages=[Message.build_user_question_text("x")]
            )
        )
        == 4200
    )
    assert (
        _code(
            lambda: other.chat.create(
                user_id="u1",
                bot_id=echo_bot,
                conversation_id=chat.conversation_id,
                additional_messages=[Message.build_user_question_text("x")],
            )
        )
        == 4200
    )
    assert _code(lambda: other.chat.cancel(conversation_id=chat.conversation_id, chat_id=chat.id)) == 4200


async def test_the_async_sdk_chats_too(server: Running, token: str, echo_bot: str) -> None:
    async with AsyncHTTPClient() as http:
        await _async_chat(AsyncCoze(auth=AsyncTokenAuth(token), base_url=server.base_url, http_client=http), echo_bot)


async def _async_chat(coze: AsyncCoze, echo_bot: str) -> None:
    chat = await coze.chat.create(
        user_id="u1", bot_id=echo_bot, additional_messages=[Message.build_user_question_text("async")]
    )
    assert chat.status == ChatStatus.COMPLETED
    stream = coze.chat.stream(
        user_id="u1", bot_id=echo_bot, additional_messages=[Message.build_user_question_text("async stream")]
    )
    deltas = [e.message.content async for e in stream if e.event == ChatEventType.CONVERSATION_MESSAGE_DELTA]
    assert "".join(deltas) == "async stream"


def test_a_long_non_streamed_chat_shows_in_the_database_while_it_runs(coze: Coze, space_id: str) -> None:
    """A non-streamed chat is written with its first save, or after a short grace while it runs."""
    slow = _bot(coze, space_id, "slowscript/echo")
    conversation = coze.conversations.create(bot_id=slow)
    text = " ".join(f"w{i}" for i in range(30))  # 1.5 s of answer
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(
            coze.chat.create,
            user_id="u1",
            bot_id=slow,
            conversation_id=conversation.id,
            additional_messages=[Message.build_user_question_text(text)],
        )
        deadline = time.monotonic() + 1.0
        while not (listed := list(coze.conversations.messages.list(conversation_id=conversation.id))):
            assert time.monotonic() < deadline, "the running chat's question was not saved within a second"
            time.sleep(0.02)
        running = coze.chat.retrieve(conversation_id=conversation.id, chat_id=listed[0].chat_id)
        assert running.status == ChatStatus.IN_PROGRESS and not pending.done()
        chat = pending.result(timeout=30)
    assert chat.status == ChatStatus.COMPLETED and chat.id == running.id
    answers = [m.content for m in coze.chat.messages.list(conversation_id=conversation.id, chat_id=chat.id)]
    assert answers == [text, text]
