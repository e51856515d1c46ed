"""Bots as OpenAI models (``bot:<id>``), driven by the official openai SDK (sync and async), on SQLite and
PostgreSQL: listed among the models, answering plain and streamed, pausing on client tools."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest
from cozepy import Coze
from server_harness import Running

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture(scope="module")
def client(server: Running, token: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key=token, base_url=f"{server.base_url}/openai/v1", max_retries=0) as client:
        yield client


def _bot(coze: Coze, model_id: str, persona: str = "") -> str:
    space_id = coze.workspaces.list().items[0].id
    bot_id = coze.bots.create(
        space_id=space_id,
        name=f"openai {model_id.replace('/', ' ')}",
        model_info_config={"model_id": model_id},
        prompt_info={"prompt": persona},
    ).bot_id
    coze.bots.publish(bot_id=bot_id)
    return bot_id


@pytest.fixture(scope="module")
def echo_bot(coze: Coze) -> str:
    return _bot(coze, "scripted/echo", "You are terse.")


@pytest.fixture(scope="module")
def tool_bot(coze: Coze) -> str:
    return _bot(coze, "scripted/tools")


def test_bots_are_listed_as_models(client: openai.OpenAI, echo_bot: str) -> None:
    models = {m.id: m for m in client.models.list()}
    assert f"bot:{echo_bot}" in models and "scripted/echo" in models
    assert models[f"bot:{echo_bot}"].owned_by == "bot"


def test_a_bot_answers_like_a_model(client: openai.OpenAI, coze: Coze, echo_bot: str) -> None:
    completion = client.chat.completions.create(
        model=f"bot:{echo_bot}",
        messages=[
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "hello bot"},
        ],
    )
    choice = completion.choices[0]
    assert (choice.message.content, choice.finish_reason, completion.model) == ("hello bot", "stop", f"bot:{echo_bot}")
    assert completion.usage is not None and completion.usage.completion_tokens == 2
    # the exchange is kept in a conversation of the bot's, visible through the Coze API
    conversations = coze.conversations.list(bot_id=echo_bot).items
    history = list(coze.conversations.messages.list(conversation_id=conversations[0].id, order="asc"))
    assert [m.content for m in history] == ["hello bot", "hello bot"]


def test_a_bot_can_be_named_by_its_name(client: openai.OpenAI, echo_bot: str) -> None:
    completion = client.chat.completions.create(
        model="openai scripted echo", messages=[{"role": "user", "content": "hey"}]
    )
    assert completion.choices[0].message.content == "hey"
    with pytest.raises(openai.NotFoundError, match="no bot named 'nobody'"):
        client.chat.completions.create(model="nobody", messages=[{"role": "user", "content": "x"}])


def test_a_bot_streams_like_a_model(client: openai.OpenAI, echo_bot: str) -> None:
    stream = client.chat.completions.create(
        model=f"bot:{echo_bot}",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert (text, finishes) == ("one two three", ["stop"])
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3


def test_request_tools_come_back_as_tool_calls(client: openai.OpenAI, tool_bot: str) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": 'call get_weather {"city": "Oslo"}'}]
    completion = client.chat.completions.create(model=f"bot:{tool_bot}", messages=messages, tools=[WEATHER])  # type: ignore[arg-type,list-item]
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls is not None
    (call,) = choice.message.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Oslo"})
    messages += [
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "snow"},
    ]
    answer = client.chat.completions.create(model=f"bot:{tool_bot}", messages=messages, tools=[WEATHER])  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "snow"

    streamed = list(
        client.chat.completions.create(model=f"bot:{tool_bot}", messages=messages[:1], tools=[WEATHER], stream=True)  # type: ignore[arg-type]
    )
    calls = [d for c in streamed if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert [c.function.name for c in calls if c.function] == ["get_weather"]
    assert streamed[-1].choices[0].finish_reason == "tool_calls"


def test_unknown_or_foreign_bots_are_missing_models(server: Running, client: openai.OpenAI, echo_bot: str) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="bot:123", messages=[{"role": "user", "content": "x"}])
    assert (missing.value.code, missing.value.param) == ("model_not_found", "model")
    other_key = server.make_key("--workspace", "OpenAI others")
    with openai.OpenAI(api_key=other_key, base_url=f"{server.base_url}/openai/v1", max_retries=0) as other:
        with pytest.raises(openai.NotFoundError):
            other.chat.completions.create(model=f"bot:{echo_bot}", messages=[{"role": "user", "content": "x"}])
        assert f"bot:{echo_bot}" not in {m.id for m in other.models.list()}
    with pytest.raises(openai.BadRequestError):  # nothing for the bot to answer
        client.chat.completions.create(model=f"bot:{echo_bot}", messages=[{"role": "assistant", "content": "x"}])


def test_a_failing_bot_is_an_api_error(client: openai.OpenAI, coze: Coze) -> None:
    broken = _bot(coze, "openai/gpt-4o")  # no key here: the model cannot be built
    with pytest.raises(openai.APIStatusError) as error:
        client.chat.completions.create(model=f"bot:{broken}", messages=[{"role": "user", "content": "x"}])
    assert error.value.status_code == 502 and "OPENAI_API_KEY" in str(error.value)


async def test_the_async_sdk_talks_to_bots(server: Running, token: str, echo_bot: str) -> None:
    async with openai.AsyncOpenAI(api_key=token, base_url=f"{server.base_url}/openai/v1", max_retries=0) as client:
        completion = await client.chat.completions.create(
            model=f"bot:{echo_bot}", messages=[{"role": "user", "content": "async hello"}]
        )
        assert completion.choices[0].message.content == "async hello"
        stream = await client.chat.completions.create(
            model=f"bot:{echo_bot}", messages=[{"role": "user", "content": "async stream"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert text == "async stream"


def test_curl_style_raw_requests_work(server: Running, token: str, echo_bot: str) -> None:
    response = httpx.post(
        f"{server.base_url}/openai/v1/chat/completions",
        headers={"authorization": f"Bearer {token}"},
        json={"model": f"bot:{echo_bot}", "messages": [{"role": "user", "content": "raw"}]},
    )
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == "raw"
