"""The model registry: ids to models, keys from settings or the environment, limits, cache, fallbacks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from plait.models import ScriptedChatModel
from plait.models.errors import BadRequestError, ModelConfigError, ProviderUnavailable, UnknownModelError
from plait.models.registry import ModelRegistry, ProviderConfig
from plait.models.tokens import count_message_tokens, count_text_tokens
from plait.models.wrappers import (
    CachedChatModel,
    FallbackChatModel,
    LimitedChatModel,
    MemoryResponseCache,
    ProviderLimits,
)
from plait.schema import Message, StreamReader, ToolSpec

HELLO = [Message.user("hello there")]


def test_scripted_echo_by_id_is_built_once_and_shared() -> None:
    registry = ModelRegistry(environ={})
    model = registry.get("scripted/echo")
    assert model.model_id == "scripted/echo"
    assert registry.get("scripted/echo") is model


@pytest.mark.parametrize(
    ("model_id", "error", "message"),
    [
        ("gpt-4o", UnknownModelError, "look like provider/model"),
        ("nowhere/x", UnknownModelError, "unknown provider 'nowhere'; known providers: .*openai"),
        ("openai/gpt-4o", ModelConfigError, "set OPENAI_API_KEY"),
        ("anthropic/claude-sonnet-4-5", ModelConfigError, "set ANTHROPIC_API_KEY"),
        ("scripted/other", UnknownModelError, "serves scripted/echo"),
    ],
)
def test_bad_ids_and_missing_keys_say_what_to_fix(model_id: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        ModelRegistry(environ={}).get(model_id)


def test_keys_come_from_the_environment_or_configuration() -> None:
    assert ModelRegistry(environ={"OPENAI_API_KEY": "sk-test"}).get("openai/gpt-4o").model_id == "openai/gpt-4o"
    registry = ModelRegistry(environ={})
    registry.configure("deepseek", api_key="sk-config")
    assert registry.get("deepseek/deepseek-chat").model_id == "deepseek/deepseek-chat"


def test_loopback_providers_need_no_key() -> None:
    registry = ModelRegistry(environ={})
    assert registry.get("ollama/qwen2.5").model_id == "ollama/qwen2.5"
    registry.configure("vllm", base_url="http://localhost:9000/v1")
    assert registry.get("vllm/any").model_id == "vllm/any"


def test_configure_unknown_provider_fails() -> None:
    with pytest.raises(UnknownModelError, match="no provider 'nope'"):
        ModelRegistry(environ={}).configure("nope", api_key="x")


def test_limits_and_cache_wrap_models_of_configured_providers() -> None:
    registry = ModelRegistry(
        [ProviderConfig(name="scripted", kind="scripted", max_concurrency=2)], environ={}, cache=MemoryResponseCache()
    )
    model = registry.get("scripted/echo")
    assert isinstance(model, LimitedChatModel)
    assert isinstance(model.inner, CachedChatModel)


async def test_concurrency_limit_holds_a_slot_for_a_whole_stream() -> None:
    limits = ProviderLimits(max_concurrency=1)
    model = LimitedChatModel(ScriptedChatModel.echo(token_delay=0.001), limits)
    first = model.stream([Message.user("one two three")])
    assert (await anext(first)).text == "one"
    second = asyncio.ensure_future(model.generate(HELLO))
    await asyncio.sleep(0.02)
    assert not second.done()
    await first.aclose()
    assert (await asyncio.wait_for(second, 5)).text == "hello there"


async def test_rate_limit_spaces_request_starts() -> None:
    limits = ProviderLimits(requests_per_minute=60 * 50)  # one start every 20 ms
    model = LimitedChatModel(ScriptedChatModel.echo(), limits)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.gather(*(model.generate(HELLO) for _ in range(4)))
    assert loop.time() - started >= 0.055


@pytest.mark.parametrize("kwargs", [{"max_concurrency": 0}, {"requests_per_minute": 0}])
def test_limits_reject_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ProviderLimits(**kwargs)


async def test_response_cache_answers_repeated_requests_without_calling_the_model() -> None:
    inner = ScriptedChatModel(["first", "second"])
    model = CachedChatModel(inner, MemoryResponseCache())
    assert (await model.generate(HELLO)).text == "first"
    assert (await model.generate(HELLO)).text == "first"
    assert (await model.generate(HELLO, temperature=0.5)).text == "second"
    assert len(inner.calls) == 2
    streamed = await StreamReader.from_iterable(model.stream(HELLO)).concat()
    assert streamed.text == "first"
    assert len(inner.calls) == 2


async def test_cache_keys_include_the_bound_tools() -> None:
    inner = ScriptedChatModel(["a", "b"])
    model = CachedChatModel(inner, MemoryResponseCache())
    await model.generate(HELLO)
    tooled = model.with_tools([ToolSpec(name="search")])
    assert (await tooled.generate(HELLO)).text == "b"


async def test_cache_entries_expire_and_are_evicted() -> None:
    cache = MemoryResponseCache(max_entries=1, ttl=0.01)
    await cache.set("a", {"x": 1})
    await cache.set("b", {"x": 2})
    assert await cache.get("a") is None
    assert await cache.get("b") == {"x": 2}
    await asyncio.sleep(0.02)
    assert await cache.get("b") is None


async def test_fallback_tries_the_next_model_on_provider_errors() -> None:
    down = ScriptedChatModel([ProviderUnavailable("a/x", "connection refused")], model_id="a/x")
    busy = ScriptedChatModel([BadRequestError("b/y", "HTTP 400: context too long")], model_id="b/y")
    good = ScriptedChatModel(["answer"], model_id="c/z")
    chain = FallbackChatModel([down, busy, good])
    assert chain.model_id == "a/x | b/y | c/z"
    assert (await chain.generate(HELLO)).text == "answer"


async def test_fallback_raises_the_last_error_when_all_fail() -> None:
    chain = FallbackChatModel(
        [
            ScriptedChatModel([ProviderUnavailable("a/x", "down")]),
            ScriptedChatModel([ProviderUnavailable("b/y", "down")]),
        ]
    )
    with pytest.raises(ProviderUnavailable, match="b/y"):
        await chain.generate(HELLO)


async def test_fallback_stream_switches_before_the_first_chunk_only() -> None:
    chain = FallbackChatModel([ScriptedChatModel([ProviderUnavailable("a/x", "down")]), ScriptedChatModel.echo()])
    assert (await StreamReader.from_iterable(chain.stream(HELLO)).concat()).text == "hello there"


def test_fallback_needs_models() -> None:
    with pytest.raises(ValueError):
        FallbackChatModel([])


def test_registry_fallback_builds_each_model() -> None:
    chain = ModelRegistry(environ={}).fallback("scripted/echo", "ollama/qwen2.5")
    assert chain.model_id == "scripted/echo | ollama/qwen2.5"


def test_token_counts_follow_cl100k_and_message_framing() -> None:
    assert count_text_tokens("hello world") == 2
    assert count_message_tokens([Message.user("hello world")]) == 2 + 3 + 3
    assert count_message_tokens([Message.user("你好，世界")]) > 3 + 3


async def test_aclose_closes_the_http_clients_of_built_models() -> None:
    registry = ModelRegistry(environ={})
    model = registry.get("ollama/qwen2.5")
    client = model._client  # type: ignore[attr-defined]
    await registry.aclose()
    assert client.is_closed
    assert registry.get("ollama/qwen2.5") is not model


def test_a_provider_can_be_removed_with_its_models() -> None:
    registry = ModelRegistry(environ={})
    registry.add_provider(ProviderConfig(name="mine", kind="scripted", models=("echo",)))
    assert registry.get("mine/echo").model_id == "scripted/echo"
    registry.remove_provider("mine")
    registry.remove_provider("mine")  # twice is fine
    with pytest.raises(UnknownModelError, match="unknown provider 'mine'"):
        registry.get("mine/echo")
