"""The Gemini adapter, through the google-genai SDK, against a fake server that speaks and checks
Gemini's generateContent and streamGenerateContent."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

import pytest
from fake_gemini import signature
from provider_servers import API_KEY, Call, Failure, FakeProvider, Raw, Turn, free_port_url, streamed, without_indexes

from plait.components.model import ChatModel
from plait.models.errors import (
    AuthenticationError,
    BadRequestError,
    ModelConfigError,
    ProviderUnavailable,
)
from plait.models.gemini import GeminiChatModel
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
CALLS = [Call("", "weather", '{"city": "Paris"}'), Call("", "clock", '{"tz": "Europe/Paris"}')]


def gemini(fake: FakeProvider, *, api_key: str = API_KEY, retry: RetrySettings = FAST) -> GeminiChatModel:
    return GeminiChatModel("gemini-test", api_key=api_key, base_url=f"{fake.url}/gemini", retry=retry)


@pytest.fixture
async def model(fake: FakeProvider) -> AsyncIterator[GeminiChatModel]:
    model = gemini(fake)
    yield model
    await model.aclose()


def test_it_is_a_chat_model_named_after_its_provider(model: GeminiChatModel) -> None:
    assert isinstance(model, ChatModel)
    assert model.model_id == "gemini/gemini-test"


def test_a_missing_sdk_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.genai", None)
    with pytest.raises(ModelConfigError, match=r"plait\[gemini\]"):
        GeminiChatModel("gemini-test", api_key=API_KEY)


async def test_generate_sends_contents_system_instruction_and_config(
    fake: FakeProvider, model: GeminiChatModel
) -> None:
    fake.reply(Turn(text="A red square."))
    image = ImagePart(url="data:image/png;base64,iVBORw0KGgo=")
    conversation = [
        Message.system("Be brief."),
        Message.user("hi"),
        Message.assistant("Hello! What can I do?"),
        Message.user([TextPart(text="what is this?"), image]),
    ]
    reply = await model.generate(conversation, max_tokens=64, stop="\n", temperature=0.0)

    assert reply.text == "A red square."
    assert reply.finish_reason == "stop"
    assert reply.usage == Usage(prompt_tokens=11, completion_tokens=7, total_tokens=18)
    assert reply.metadata == {"id": "resp-fake", "model": "gemini-test-001"}
    request = fake.requests[-1]
    assert request.path.endswith("/models/gemini-test:generateContent")
    assert fake.last["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert fake.last["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"text": "Hello! What can I do?"}]},
        {
            "role": "user",
            "parts": [{"text": "what is this?"}, {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}],
        },
    ]
    assert fake.last["generationConfig"] == {"maxOutputTokens": 64, "stopSequences": ["\n"], "temperature": 0.0}


async def test_a_stream_with_thoughts_concatenates_to_what_generate_returns(
    fake: FakeProvider, model: GeminiChatModel
) -> None:
    turn = Turn(text="The answer is forty-two.", reasoning="Six times seven.")
    fake.reply(turn, turn)
    generated = await model.generate(HELLO)
    chunks = await streamed(model.stream(HELLO))

    assert len(chunks) > 5
    assert concat(chunks) == generated
    assert generated.reasoning == "Six times seven."
    assert generated.usage == Usage(prompt_tokens=11, completion_tokens=10, total_tokens=21, reasoning_tokens=3)
    assert fake.requests[-1].path.endswith(":streamGenerateContent")
    assert fake.requests[-1].query == {"alt": "sse"}


async def test_function_calls_get_stable_ids_in_both_modes(fake: FakeProvider, model: GeminiChatModel) -> None:
    bound = model.with_tools([WEATHER, CLOCK])
    turn = Turn(calls=CALLS)
    fake.reply(turn, turn)
    generated = await bound.generate(HELLO)
    streamed_reply = concat(await streamed(bound.stream(HELLO)))

    assert without_indexes(streamed_reply) == generated
    assert generated.finish_reason == "tool_calls"
    assert [(c.name, c.parsed_arguments()) for c in generated.tool_calls] == [
        ("weather", {"city": "Paris"}),
        ("clock", {"tz": "Europe/Paris"}),
    ]
    ids = [call.id for call in generated.tool_calls]
    assert len(set(ids)) == 2 and all(ids)
    assert generated.metadata["gemini_thought_signatures"] == {
        ids[0]: signature("weather"),
        ids[1]: signature("clock"),
    }
    assert fake.last["tools"] == [
        {
            "functionDeclarations": [
                {"name": "weather", "description": WEATHER.description, "parametersJsonSchema": WEATHER.parameters},
                {"name": "clock", "description": CLOCK.description, "parametersJsonSchema": CLOCK.parameters},
            ]
        }
    ]
    assert fake.last["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


async def test_tool_results_answer_their_calls_by_name_with_signatures(
    fake: FakeProvider, model: GeminiChatModel
) -> None:
    bound = model.with_tools([WEATHER, CLOCK], tool_choice="weather")
    fake.reply(Turn(calls=CALLS), Turn(text="Sunny, and noon."))
    conversation = [Message.user("weather and time in Paris?")]
    conversation.append(await bound.generate(conversation))
    first, second = conversation[-1].tool_calls
    conversation += [Message.tool("sunny", tool_call_id=first.id), Message.tool("12:00", tool_call_id=second.id)]
    assert (await bound.generate(conversation)).text == "Sunny, and noon."

    _, calls, results = fake.last["contents"]
    assert calls["parts"][0] == {
        "functionCall": {"name": "weather", "args": {"city": "Paris"}},
        "thoughtSignature": signature("weather"),
    }
    assert results == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "weather", "response": {"output": "sunny"}}},
            {"functionResponse": {"name": "clock", "response": {"output": "12:00"}}},
        ],
    }
    assert fake.last["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["weather"]}}


@pytest.mark.parametrize(
    ("response_format", "config"),
    [
        ({"type": "json_object"}, {"responseMimeType": "application/json"}),
        (
            {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}}},
            {"responseMimeType": "application/json", "responseJsonSchema": {"type": "object"}},
        ),
    ],
)
async def test_json_output_maps_to_geminis_json_mode(
    fake: FakeProvider, model: GeminiChatModel, response_format: dict[str, object], config: dict[str, object]
) -> None:
    fake.reply(Turn(text='{"city": "Paris"}'))
    await model.generate(HELLO, response_format=response_format)
    assert fake.last["generationConfig"] == config


@pytest.mark.parametrize(
    ("finish", "expected"), [("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter")]
)
async def test_finish_reasons_map_to_plaits(
    fake: FakeProvider, model: GeminiChatModel, finish: str, expected: str
) -> None:
    fake.reply(Turn(text="partial", finish=finish))
    assert (await model.generate(HELLO)).finish_reason == expected


async def test_a_blocked_prompt_is_content_filtered(fake: FakeProvider, model: GeminiChatModel) -> None:
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}}
    fake.reply(Raw(json.dumps(blocked), content_type="application/json"))
    reply = await model.generate(HELLO)
    assert (reply.text, reply.finish_reason, reply.tool_calls) == ("", "content_filter", [])


async def test_an_unknown_option_is_a_config_error_naming_it(fake: FakeProvider, model: GeminiChatModel) -> None:
    with pytest.raises(ModelConfigError, match="'extra_body'"):
        await model.generate(HELLO, extra_body={})
    assert fake.requests == []


# -- errors and retries ---------------------------------------------------------------------------------


async def test_a_wrong_key_is_rejected_as_gemini_does_and_not_retried(fake: FakeProvider) -> None:
    model = gemini(fake, api_key="wrong")
    with pytest.raises(BadRequestError, match="API key not valid") as caught:
        await model.generate(HELLO)
    await model.aclose()
    assert caught.value.code == "INVALID_ARGUMENT"
    assert len(fake.requests) == 1


async def test_an_unauthenticated_answer_is_an_authentication_error(fake: FakeProvider, model: GeminiChatModel) -> None:
    fake.reply(Failure(401, "Request had invalid authentication credentials."))
    with pytest.raises(AuthenticationError, match="invalid authentication credentials"):
        await model.generate(HELLO)


@pytest.mark.parametrize("mode", ["generate", "stream"])
async def test_a_rate_limit_is_retried_once_after_retry_after(
    fake: FakeProvider, model: GeminiChatModel, mode: str
) -> None:
    fake.reply(Failure(429, "Resource exhausted", headers={"Retry-After": "0.05"}), Turn(text="ok"))
    if mode == "generate":
        reply = await model.generate(HELLO)
    else:
        reply = concat(await streamed(model.stream(HELLO)))
    assert reply.text == "ok"
    assert len(fake.requests) == 2
    assert fake.requests[1].at - fake.requests[0].at >= 0.05


async def test_server_errors_are_retried(fake: FakeProvider, model: GeminiChatModel) -> None:
    fake.reply(Failure(500, "internal"), Failure(503, "unavailable"), Turn(text="finally"))
    assert (await model.generate(HELLO)).text == "finally"
    assert len(fake.requests) == 3


async def test_a_refused_connection_names_the_unreachable_url() -> None:
    url = free_port_url()
    model = GeminiChatModel("gemini-test", api_key=API_KEY, base_url=url, retry=RetrySettings(max_attempts=1))
    with pytest.raises(ProviderUnavailable, match=f"{url} is unreachable"):
        await streamed(model.stream(HELLO))
    await model.aclose()


async def test_closing_a_stream_closes_the_response_on_the_server(fake: FakeProvider, model: GeminiChatModel) -> None:
    fake.reply(Turn(text="word " * 200, piece=5, delay=0.02))
    stream = model.stream(HELLO)
    first = [await anext(stream), await anext(stream)]
    await stream.aclose()  # type: ignore[attr-defined]
    assert "".join(chunk.text for chunk in first) == "word word "
    assert await asyncio.to_thread(fake.disconnected.wait, 5)
