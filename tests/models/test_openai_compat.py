"""The OpenAI-compatible adapter against a fake server that speaks and checks OpenAI's wire protocol."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterator

import pytest
from provider_servers import API_KEY, Call, Failure, FakeProvider, Raw, Turn, free_port_url, streamed, without_indexes

from plait.components.model import ChatModel
from plait.models._http import retry_after
from plait.models.errors import (
    AuthenticationError,
    BadRequestError,
    ModelConfigError,
    ProviderError,
    ProviderUnavailable,
    RateLimitError,
)
from plait.models.openai_compat import OpenAICompatChatModel
from plait.models.retry import RetrySettings
from plait.schema import ImagePart, Message, TextPart, ToolArgumentsError, ToolCall, ToolSpec, Usage, concat

FAST = RetrySettings(max_attempts=3, initial_delay=0.01, max_delay=0.05)
HELLO = [Message.system("Be brief."), Message.user("hello")]
WEATHER = ToolSpec(
    name="weather",
    description="Current weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CLOCK = ToolSpec(name="clock", description="The time in a timezone.")
CALLS = [Call("call_a", "weather", '{"city": "Paris"}'), Call("call_b", "clock", '{"tz": "Europe/Paris"}')]


@pytest.fixture
async def model(fake: FakeProvider) -> AsyncIterator[OpenAICompatChatModel]:
    model = OpenAICompatChatModel("gpt-test", base_url=f"{fake.url}/openai/v1", api_key=API_KEY, retry=FAST)
    yield model
    await model.aclose()


def test_it_is_a_chat_model_named_after_its_provider(model: OpenAICompatChatModel) -> None:
    assert isinstance(model, ChatModel)
    assert model.model_id == "openai_compat/gpt-test"


async def test_generate_sends_the_conversation_in_openai_format(
    fake: FakeProvider, model: OpenAICompatChatModel
) -> None:
    fake.reply(Turn(text="Hi there!"))
    image = ImagePart(url="data:image/png;base64,iVBORw0KGgo=", detail="low")
    reply = await model.generate([Message.system("Be brief."), Message.user([TextPart(text="what is this?"), image])])

    assert reply.text == "Hi there!"
    assert reply.finish_reason == "stop"
    assert reply.usage == Usage(prompt_tokens=11, completion_tokens=7, total_tokens=18)
    assert reply.metadata == {"id": "chatcmpl-fake", "model": "gpt-test"}
    assert fake.last["model"] == "gpt-test"
    assert fake.last["messages"] == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": image.url, "detail": "low"}},
            ],
        },
    ]
    assert "stream" not in fake.last


async def test_a_stream_concatenates_to_what_generate_returns(fake: FakeProvider, model: OpenAICompatChatModel) -> None:
    turn = Turn(text="The answer is forty-two.", reasoning="Think it over.")
    fake.reply(turn, turn)
    generated = await model.generate(HELLO)
    chunks = await streamed(model.stream(HELLO))

    assert len(chunks) > 5
    assert concat(chunks) == generated
    assert generated.reasoning == "Think it over."
    assert fake.last["stream"] is True
    assert fake.last["stream_options"] == {"include_usage": True}
    assert chunks[-1].usage == Usage(prompt_tokens=11, completion_tokens=7, total_tokens=18, reasoning_tokens=3)


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_reasoning_is_read_from_either_field_servers_use(
    fake: FakeProvider, model: OpenAICompatChatModel, field: str
) -> None:
    turn = Turn(text="4", reasoning="2 + 2 = 4", reasoning_field=field)
    fake.reply(turn, turn)
    assert (await model.generate(HELLO)).reasoning == "2 + 2 = 4"
    assert concat(await streamed(model.stream(HELLO))).reasoning == "2 + 2 = 4"


async def test_parallel_tool_calls_stream_by_index_and_match_generate(
    fake: FakeProvider, model: OpenAICompatChatModel
) -> None:
    bound = model.with_tools([WEATHER, CLOCK])
    turn = Turn(calls=CALLS, piece=3)
    fake.reply(turn, turn)
    generated = await bound.generate(HELLO)
    streamed_reply = concat(await streamed(bound.stream(HELLO)))

    assert without_indexes(streamed_reply) == generated
    assert generated.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.parsed_arguments()) for c in generated.tool_calls] == [
        ("call_a", "weather", {"city": "Paris"}),
        ("call_b", "clock", {"tz": "Europe/Paris"}),
    ]
    assert fake.last["tools"][0] == {
        "type": "function",
        "function": {"name": "weather", "description": WEATHER.description, "parameters": WEATHER.parameters},
    }
    assert fake.last["tool_choice"] == "auto"


async def test_tool_results_go_back_as_tool_messages(fake: FakeProvider, model: OpenAICompatChatModel) -> None:
    fake.reply(Turn(text="It is sunny in Paris at noon."))
    conversation = [
        Message.user("weather and time in Paris?"),
        Message.assistant(tool_calls=[ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in CALLS]),
        Message.tool("sunny", tool_call_id="call_a", name="weather"),
        Message.tool("12:00", tool_call_id="call_b", name="clock"),
    ]
    reply = await model.with_tools([WEATHER, CLOCK]).generate(conversation)

    assert reply.text == "It is sunny in Paris at noon."
    assistant, *results = fake.last["messages"][1:]
    assert assistant == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in CALLS
        ],
    }
    assert results == [
        {"role": "tool", "tool_call_id": "call_a", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_b", "content": "12:00"},
    ]


async def test_with_tools_returns_a_new_model_and_leaves_the_original_alone(
    fake: FakeProvider, model: OpenAICompatChatModel
) -> None:
    forced = model.with_tools([WEATHER], tool_choice="weather")
    fake.reply(Turn(calls=CALLS[:1]), Turn(text="plain"))
    await forced.generate(HELLO, parallel_tool_calls=False)
    assert fake.last["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    assert fake.last["parallel_tool_calls"] is False

    await model.generate(HELLO, tool_choice="required", parallel_tool_calls=False)
    assert "tools" not in fake.last and "tool_choice" not in fake.last  # no tools: tool options make no sense
    assert model.tools == [] and forced is not model


async def test_malformed_tool_arguments_are_kept_and_reported_on_parsing(
    fake: FakeProvider, model: OpenAICompatChatModel
) -> None:
    turn = Turn(calls=[Call("call_x", "weather", '{"city": "Par')])
    fake.reply(turn, turn)
    for reply in [await model.generate(HELLO), concat(await streamed(model.stream(HELLO)))]:
        call = reply.tool_calls[0]
        assert call.arguments == '{"city": "Par'
        with pytest.raises(ToolArgumentsError, match="weather"):
            call.parsed_arguments()


@pytest.mark.parametrize(
    ("finish", "calls", "expected"),
    [("length", [], "length"), ("stop", CALLS[:1], "tool_calls"), ("function_call", CALLS[:1], "tool_calls")],
)
async def test_finish_reasons_are_normalised_for_servers_that_differ(
    fake: FakeProvider, model: OpenAICompatChatModel, finish: str, calls: list[Call], expected: str
) -> None:
    """Ollama and some llama.cpp builds say ``stop`` after tool calls; old servers say ``function_call``."""
    turn = Turn(text="partial", calls=calls, finish=finish)
    fake.reply(turn, turn)
    bound = model.with_tools([WEATHER])
    assert (await bound.generate(HELLO)).finish_reason == expected
    assert concat(await streamed(bound.stream(HELLO))).finish_reason == expected


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}, "strict": True}},
    ],
)
async def test_json_output_formats_pass_through(
    fake: FakeProvider, model: OpenAICompatChatModel, response_format: dict[str, object]
) -> None:
    fake.reply(Turn(text='{"city": "Paris"}'))
    reply = await model.generate(HELLO, response_format=response_format)
    assert json.loads(reply.text) == {"city": "Paris"}
    assert fake.last["response_format"] == response_format


async def test_options_defaults_and_extra_body_reach_the_server(fake: FakeProvider) -> None:
    model = OpenAICompatChatModel(
        "gpt-test",
        base_url=f"{fake.url}/openai/v1",
        api_key=API_KEY,
        default_options={"temperature": 0.2, "max_tokens": 64},
        headers={"X-Trace": "t-1"},
    )
    fake.reply(Turn(text="ok"))
    await model.generate(HELLO, temperature=0.0, stop=["\n"], seed=7, extra_body={"top_k": 5})
    await model.aclose()
    sent = {key: fake.last[key] for key in ("temperature", "max_tokens", "stop", "seed", "top_k")}
    assert sent == {"temperature": 0.0, "max_tokens": 64, "stop": ["\n"], "seed": 7, "top_k": 5}
    assert fake.requests[-1].headers["x-trace"] == "t-1"


async def test_an_unknown_option_is_a_config_error_naming_it(fake: FakeProvider, model: OpenAICompatChatModel) -> None:
    with pytest.raises(ModelConfigError, match="'temprature'"):
        await model.generate(HELLO, temprature=0.5)
    with pytest.raises(ModelConfigError, match="'top_kk'"):
        model.stream(HELLO, top_kk=1)
    with pytest.raises(ModelConfigError, match="'temprature'"):
        OpenAICompatChatModel("m", base_url=fake.url, default_options={"temprature": 1})
    assert fake.requests == []


def test_a_required_api_key_must_be_given() -> None:
    with pytest.raises(ModelConfigError, match=r"API key is required for https://api\.example\.com/v1"):
        OpenAICompatChatModel("m", base_url="https://api.example.com/v1", require_api_key=True)


# -- errors and retries ---------------------------------------------------------------------------------


async def test_a_wrong_key_is_an_authentication_error_with_the_providers_message(fake: FakeProvider) -> None:
    model = OpenAICompatChatModel("gpt-test", base_url=f"{fake.url}/openai/v1", api_key="wrong", retry=FAST)
    with pytest.raises(AuthenticationError, match="Incorrect API key provided") as caught:
        await model.generate(HELLO)
    await model.aclose()
    assert caught.value.status == 401
    assert len(fake.requests) == 1


async def test_a_bad_request_is_not_retried(fake: FakeProvider, model: OpenAICompatChatModel) -> None:
    fake.reply(Failure(400, "context length exceeded"))
    with pytest.raises(BadRequestError, match="HTTP 400: context length exceeded") as caught:
        await model.generate(HELLO)
    assert caught.value.code == "invalid_request_error"
    assert len(fake.requests) == 1


@pytest.mark.parametrize("mode", ["generate", "stream"])
async def test_a_rate_limit_is_retried_once_after_retry_after(
    fake: FakeProvider, model: OpenAICompatChatModel, mode: str
) -> None:
    fake.reply(Failure(429, "slow down", headers={"Retry-After": "0.05"}), Turn(text="ok"))
    if mode == "generate":
        reply = await model.generate(HELLO)
    else:
        reply = concat(await streamed(model.stream(HELLO)))
    assert reply.text == "ok"
    assert len(fake.requests) == 2
    assert fake.requests[1].at - fake.requests[0].at >= 0.05


async def test_server_errors_are_retried_with_backoff(fake: FakeProvider, model: OpenAICompatChatModel) -> None:
    fake.reply(Failure(500, "boom"), Failure(503, "overloaded"), Turn(text="finally"))
    assert (await model.generate(HELLO)).text == "finally"
    assert len(fake.requests) == 3


async def test_the_last_error_is_raised_once_attempts_run_out(fake: FakeProvider, model: OpenAICompatChatModel) -> None:
    fake.reply(*[Failure(429, "quota exhausted", headers={"Retry-After": "0"})] * 3)
    with pytest.raises(RateLimitError, match="quota exhausted"):
        await model.generate(HELLO)
    assert len(fake.requests) == 3


async def test_a_refused_connection_names_the_unreachable_url() -> None:
    url = free_port_url()
    model = OpenAICompatChatModel("m", base_url=f"{url}/v1", retry=RetrySettings(max_attempts=2, initial_delay=0.01))
    with pytest.raises(ProviderUnavailable, match=f"{url}/v1 is unreachable"):
        await model.generate(HELLO)
    with pytest.raises(ProviderUnavailable, match=f"{url}/v1 is unreachable"):
        await streamed(model.stream(HELLO))
    await model.aclose()


async def test_a_slow_server_times_out_as_unavailable(fake: FakeProvider) -> None:
    model = OpenAICompatChatModel(
        "gpt-test", base_url=f"{fake.url}/openai/v1", api_key=API_KEY, timeout=0.1, retry=RetrySettings(1)
    )
    fake.reply(Turn(text="late", delay=0.5))
    with pytest.raises(ProviderUnavailable, match=r"no answer within 0\.1s"):
        await model.generate(HELLO)
    await model.aclose()


def test_retry_after_reads_seconds_milliseconds_and_http_dates() -> None:
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert 28 < (retry_after({"retry-after": soon}) or 0) <= 30
    assert retry_after({"retry-after": "whenever"}) is None
    assert retry_after({}) is None


# -- streams --------------------------------------------------------------------------------------------


async def test_closing_a_stream_closes_the_response_on_the_server(
    fake: FakeProvider, model: OpenAICompatChatModel
) -> None:
    fake.reply(Turn(text="word " * 200, piece=5, delay=0.02))
    stream = model.stream(HELLO)
    first = [await anext(stream), await anext(stream)]
    await stream.aclose()  # type: ignore[attr-defined]
    assert "".join(chunk.text for chunk in first) == "word word "
    assert await asyncio.to_thread(fake.disconnected.wait, 5)


async def test_an_error_after_the_first_chunk_is_raised_not_retried(
    fake: FakeProvider, model: OpenAICompatChatModel
) -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "par"}, "finish_reason": None}]}
    error = {"error": {"message": "backend crashed", "code": 503}}
    fake.reply(Raw(f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(error)}\n\n"))
    stream = model.stream(HELLO)
    assert (await anext(stream)).text == "par"
    with pytest.raises(ProviderUnavailable, match="backend crashed"):
        await anext(stream)
    assert len(fake.requests) == 1


async def test_a_server_that_ignores_stream_answers_in_one_chunk(
    fake: FakeProvider, model: OpenAICompatChatModel
) -> None:
    completion = {"choices": [{"message": {"content": "all at once"}, "finish_reason": "stop"}]}
    fake.reply(Raw(json.dumps(completion), content_type="application/json"))
    chunks = await streamed(model.stream(HELLO))
    assert [(c.text, c.finish_reason) for c in chunks] == [("all at once", "stop")]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('data: {"choices": [\n\n', "not JSON"),
        ('{"choices": []}\n\n', "malformed server-sent event line"),
    ],
)
async def test_a_malformed_stream_is_a_provider_error(
    fake: FakeProvider, model: OpenAICompatChatModel, body: str, problem: str
) -> None:
    fake.reply(Raw(body))
    with pytest.raises(ProviderError, match=problem):
        await streamed(model.stream(HELLO))
