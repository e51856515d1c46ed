"""The Anthropic adapter, through the official SDK, against a fake server that speaks and checks
Anthropic's Messages API."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import pytest
from fake_anthropic import SIGNATURE
from provider_servers import API_KEY, Call, Failure, FakeProvider, Raw, Turn, free_port_url, streamed, without_indexes

from plait.components.model import ChatModel
from plait.models.anthropic import AnthropicChatModel
from plait.models.errors import (
    AuthenticationError,
    BadRequestError,
    ModelConfigError,
    ProviderUnavailable,
)
from plait.models.retry import RetrySettings
from plait.schema import ImagePart, Message, TextPart, ToolSpec, Usage, concat

FAST = RetrySettings(max_attempts=3, initial_delay=0.01, max_delay=0.05)
HELLO = [Message.system("Be brief."), Message.user("hello")]
WEATHER = ToolSpec(
    name="weather",
    description="Current weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CLOCK = ToolSpec(name="clock", description="The time in a timezone.")
CALLS = [Call("toolu_a", "weather", '{"city": "Paris"}'), Call("toolu_b", "clock", '{"tz": "Europe/Paris"}')]


@pytest.fixture
async def model(fake: FakeProvider) -> AsyncIterator[AnthropicChatModel]:
    model = AnthropicChatModel("claude-test", api_key=API_KEY, base_url=f"{fake.url}/anthropic", retry=FAST)
    yield model
    await model.aclose()


def test_it_is_a_chat_model_named_after_its_provider(model: AnthropicChatModel) -> None:
    assert isinstance(model, ChatModel)
    assert model.model_id == "anthropic/claude-test"


def test_a_missing_sdk_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)
    with pytest.raises(ModelConfigError, match=r"plait\[anthropic\]"):
        AnthropicChatModel("claude-test", api_key=API_KEY)


async def test_system_prompts_go_top_level_and_parts_become_blocks(
    fake: FakeProvider, model: AnthropicChatModel
) -> None:
    fake.reply(Turn(text="A red square."))
    image = ImagePart(url="data:image/png;base64,iVBORw0KGgo=")
    conversation = [
        Message.system("Be brief."),
        Message.system("Answer in English."),
        Message.user([TextPart(text="what is this?"), image]),
    ]
    reply = await model.generate(conversation)

    assert reply.text == "A red square."
    assert reply.finish_reason == "stop"
    assert reply.usage == Usage(prompt_tokens=11, completion_tokens=7, total_tokens=18)
    assert reply.metadata == {"id": "msg_fake", "model": "claude-test"}
    assert fake.last["system"] == "Be brief.\n\nAnswer in English."
    assert fake.last["max_tokens"] == 4096
    assert fake.last["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            ],
        }
    ]


async def test_a_stream_with_thinking_concatenates_to_what_generate_returns(
    fake: FakeProvider, model: AnthropicChatModel
) -> None:
    turn = Turn(text="The answer is forty-two.", reasoning="Six times seven.")
    fake.reply(turn, turn)
    generated = await model.generate(HELLO)
    chunks = await streamed(model.stream(HELLO))

    assert len(chunks) > 5
    assert concat(chunks) == generated
    assert generated.reasoning == "Six times seven."
    assert generated.metadata["anthropic_thinking"] == [
        {"type": "thinking", "thinking": "Six times seven.", "signature": SIGNATURE}
    ]
    assert chunks[-1].usage == Usage(prompt_tokens=11, completion_tokens=7, total_tokens=18)
    assert fake.last["stream"] is True


async def test_tool_use_blocks_become_tool_calls_in_both_modes(fake: FakeProvider, model: AnthropicChatModel) -> None:
    bound = model.with_tools([WEATHER, CLOCK], tool_choice="required")
    turn = Turn(text="Checking.", calls=CALLS, piece=3)
    fake.reply(turn, turn)
    generated = await bound.generate(HELLO, parallel_tool_calls=False)
    streamed_reply = concat(await streamed(bound.stream(HELLO)))

    assert without_indexes(streamed_reply) == generated
    assert generated.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.parsed_arguments()) for c in generated.tool_calls] == [
        ("toolu_a", "weather", {"city": "Paris"}),
        ("toolu_b", "clock", {"tz": "Europe/Paris"}),
    ]
    assert fake.requests[0].body["tools"][0] == {
        "name": "weather",
        "description": WEATHER.description,
        "input_schema": WEATHER.parameters,
    }
    assert fake.requests[0].body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert fake.last["tool_choice"] == {"type": "any"}
    assert model.tools == []


async def test_tool_results_and_thinking_go_back_in_anthropics_format(
    fake: FakeProvider, model: AnthropicChatModel
) -> None:
    bound = model.with_tools([WEATHER, CLOCK])
    fake.reply(Turn(reasoning="I need both tools.", calls=CALLS), Turn(text="Sunny, and noon."))
    conversation = [Message.user("weather and time in Paris?")]
    conversation.append(await bound.generate(conversation))
    conversation += [
        Message.tool("sunny", tool_call_id="toolu_a"),
        Message.tool("12:00", tool_call_id="toolu_b"),
        Message.user("Thanks!"),
    ]
    assert (await bound.generate(conversation)).text == "Sunny, and noon."

    _, assistant, results = fake.last["messages"]
    assert assistant["content"][0] == {"type": "thinking", "thinking": "I need both tools.", "signature": SIGNATURE}
    assert [block["type"] for block in assistant["content"]] == ["thinking", "tool_use", "tool_use"]
    assert results == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "content": "12:00"},
            {"type": "text", "text": "Thanks!"},
        ],
    }


@pytest.mark.parametrize(
    ("stop_reason", "expected"),
    [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("refusal", "content_filter")],
)
async def test_stop_reasons_map_to_plaits(
    fake: FakeProvider, model: AnthropicChatModel, stop_reason: str, expected: str
) -> None:
    turn = Turn(text="partial", finish=stop_reason)
    fake.reply(turn, turn)
    assert (await model.generate(HELLO)).finish_reason == expected
    assert concat(await streamed(model.stream(HELLO))).finish_reason == expected


async def test_options_map_to_anthropics_names(fake: FakeProvider, model: AnthropicChatModel) -> None:
    fake.reply(Turn(text="ok"))
    thinking = {"type": "enabled", "budget_tokens": 1024}
    await model.generate(HELLO, stop="\n", user="u-1", temperature=0.3, top_k=5, max_tokens=2048, thinking=thinking)
    sent = {key: fake.last[key] for key in ("stop_sequences", "metadata", "temperature", "top_k", "max_tokens")}
    assert sent == {
        "stop_sequences": ["\n"],
        "metadata": {"user_id": "u-1"},
        "temperature": 0.3,
        "top_k": 5,
        "max_tokens": 2048,
    }
    assert fake.last["thinking"] == thinking
    with pytest.raises(ModelConfigError, match="'response_format'"):
        await model.generate(HELLO, response_format={"type": "json_object"})


# -- errors and retries ---------------------------------------------------------------------------------


async def test_a_wrong_key_is_an_authentication_error_with_the_providers_message(fake: FakeProvider) -> None:
    model = AnthropicChatModel("claude-test", api_key="wrong", base_url=f"{fake.url}/anthropic", retry=FAST)
    with pytest.raises(AuthenticationError, match="invalid x-api-key"):
        await model.generate(HELLO)
    await model.aclose()
    assert len(fake.requests) == 1


async def test_a_bad_request_is_not_retried(fake: FakeProvider, model: AnthropicChatModel) -> None:
    fake.reply(Failure(400, "prompt is too long"))
    with pytest.raises(BadRequestError, match="prompt is too long") as caught:
        await model.generate(HELLO)
    assert caught.value.code == "invalid_request_error"
    assert len(fake.requests) == 1


async def test_a_rate_limit_is_retried_once_after_retry_after(fake: FakeProvider, model: AnthropicChatModel) -> None:
    fake.reply(Failure(429, "slow down", headers={"Retry-After": "0.05"}), Turn(text="ok"))
    assert concat(await streamed(model.stream(HELLO))).text == "ok"
    assert len(fake.requests) == 2
    assert fake.requests[1].at - fake.requests[0].at >= 0.05


async def test_server_errors_and_overload_are_retried(fake: FakeProvider, model: AnthropicChatModel) -> None:
    fake.reply(Failure(500, "boom"), Failure(529, "Overloaded"), Turn(text="finally"))
    assert (await model.generate(HELLO)).text == "finally"
    assert len(fake.requests) == 3


async def test_a_refused_connection_names_the_unreachable_url() -> None:
    url = free_port_url()
    model = AnthropicChatModel("claude-test", api_key=API_KEY, base_url=url, retry=RetrySettings(max_attempts=1))
    with pytest.raises(ProviderUnavailable, match=f"{url} is unreachable"):
        await model.generate(HELLO)
    await model.aclose()


async def test_an_error_event_mid_stream_is_raised_not_retried(fake: FakeProvider, model: AnthropicChatModel) -> None:
    start = {"type": "message_start", "message": {"id": "msg_1", "model": "claude-test", "usage": {"input_tokens": 3}}}
    text = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "par"}}
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    fake.reply(Raw("".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in (start, text, error))))
    stream = model.stream(HELLO)
    assert (await anext(stream)).text == "par"
    with pytest.raises(ProviderUnavailable, match="Overloaded"):
        await anext(stream)
    assert len(fake.requests) == 1


async def test_closing_a_stream_closes_the_response_on_the_server(
    fake: FakeProvider, model: AnthropicChatModel
) -> None:
    fake.reply(Turn(text="word " * 200, piece=5, delay=0.02))
    stream = model.stream(HELLO)
    first = [await anext(stream), await anext(stream)]
    await stream.aclose()  # type: ignore[attr-defined]
    assert "".join(chunk.text for chunk in first) == "word word "
    assert await asyncio.to_thread(fake.disconnected.wait, 5)
