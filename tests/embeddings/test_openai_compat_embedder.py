"""The OpenAI-compatible embedder against a real HTTP server on 127.0.0.1 that checks what it receives."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from fake_embeddings_provider import FakeProvider, embeddings, free_port, running_provider, vector_for
from starlette.responses import JSONResponse, Response

from plait.components import Embedder
from plait.embeddings import OpenAICompatEmbedder
from plait.models.errors import (
    AuthenticationError,
    BadRequestError,
    ModelConfigError,
    ProviderError,
    ProviderUnavailable,
    RateLimitError,
)
from plait.models.retry import RetrySettings

FAST_RETRY = RetrySettings(max_attempts=3, initial_delay=0.01, max_delay=0.05)
TEXTS = ["a", "a longer text", "", "中文句子", "b" * 50, "c"]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProvider]:
    with running_provider() as provider:
        yield provider


@pytest.fixture
def provider(server: FakeProvider) -> FakeProvider:
    server.reset()
    return server


def embedder_for(provider: FakeProvider, **options: Any) -> OpenAICompatEmbedder:
    return OpenAICompatEmbedder("text-embed", base_url=provider.base_url, retry=FAST_RETRY, **options)


def status(code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return lambda request_body: JSONResponse(body, status_code=code, headers=headers)


async def test_batches_keep_the_input_order(provider: FakeProvider) -> None:
    async with embedder_for(provider, batch_size=4, api_key="sk-test") as embedder:
        vectors = await embedder.embed(TEXTS * 2)
    assert vectors == [vector_for(text) for text in TEXTS * 2]
    assert len(provider.received) == math.ceil(12 / 4)
    assert [request.body["input"] for request in provider.received] == [TEXTS[:4], TEXTS[4:] + TEXTS[:2], TEXTS[2:]]
    for request in provider.received:
        assert request.body["model"] == "text-embed"
        assert request.body["encoding_format"] == "float"
        assert request.headers["authorization"] == "Bearer sk-test"


async def test_no_key_sends_no_authorization_header(provider: FakeProvider) -> None:
    async with embedder_for(provider) as embedder:
        await embedder.embed(["x"])
    assert "authorization" not in provider.received[0].headers


async def test_the_dimension_is_learned_from_the_first_response(provider: FakeProvider) -> None:
    async with embedder_for(provider) as embedder:
        with pytest.raises(ModelConfigError, match="first response"):
            _ = embedder.dimension
        assert not isinstance(embedder, Embedder)  # not yet: a protocol check must not raise
        await embedder.embed(["x"])
        assert embedder.dimension == 4
        assert isinstance(embedder, Embedder)


async def test_a_given_dimension_is_checked(provider: FakeProvider) -> None:
    async with embedder_for(provider, dimension=3) as embedder:
        assert embedder.dimension == 3
        with pytest.raises(ProviderError, match="dimension 3"):
            await embedder.embed(["x"])


async def test_empty_input_sends_nothing_and_bad_input_is_refused(provider: FakeProvider) -> None:
    async with embedder_for(provider) as embedder:
        assert await embedder.embed([]) == []
        with pytest.raises(TypeError, match="item 1 is int"):
            await embedder.embed(["ok", 3])  # type: ignore[list-item]
        with pytest.raises(TypeError, match="not one string"):
            await embedder.embed("one string")
    assert provider.received == []


async def test_429_is_retried_after_retry_after(provider: FakeProvider) -> None:
    provider.answers.append(status(429, {"error": {"message": "slow down"}}, {"Retry-After": "0.01"}))
    async with embedder_for(provider) as embedder:
        assert await embedder.embed(["x"]) == [vector_for("x")]
    assert len(provider.received) == 2


async def test_429_gives_up_after_the_last_attempt(provider: FakeProvider) -> None:
    provider.answers.extend([status(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})] * 3)
    async with embedder_for(provider) as embedder:
        with pytest.raises(RateLimitError, match="slow down") as caught:
            await embedder.embed(["x"])
    assert caught.value.retry_after == 0
    assert len(provider.received) == 3


async def test_5xx_is_retried(provider: FakeProvider) -> None:
    provider.answers.append(status(503, {"error": "model is loading"}))
    async with embedder_for(provider) as embedder:
        assert await embedder.embed(["x"]) == [vector_for("x")]
    assert len(provider.received) == 2


async def test_400_is_a_bad_request_with_the_provider_message(provider: FakeProvider) -> None:
    body = {"error": {"message": "input is too long", "type": "invalid_request_error", "code": "context_length"}}
    provider.answers.append(status(400, body))
    async with embedder_for(provider) as embedder:
        with pytest.raises(BadRequestError, match="HTTP 400: input is too long") as caught:
            await embedder.embed(["x"])
    assert caught.value.status == 400
    assert caught.value.code == "context_length"
    assert caught.value.model_id == "openai_compat/text-embed"
    assert len(provider.received) == 1  # not retried


async def test_vllm_style_errors_and_bad_keys(provider: FakeProvider) -> None:
    provider.answers.append(status(401, {"object": "error", "message": "invalid key"}))
    async with embedder_for(provider) as embedder:
        with pytest.raises(AuthenticationError, match="invalid key"):
            await embedder.embed(["x"])


async def test_a_wrong_count_or_an_unreadable_body_is_a_provider_error(provider: FakeProvider) -> None:
    def one_short(body: dict[str, Any]) -> Response:
        return embeddings({**body, "input": body["input"][:-1]})

    def same_index(body: dict[str, Any]) -> Response:
        data = [{"index": 0, "embedding": vector_for(text)} for text in body["input"]]
        return JSONResponse({"data": data})

    provider.answers.extend([one_short, same_index, lambda body: Response("not json", media_type="text/plain")])
    async with embedder_for(provider) as embedder:
        with pytest.raises(ProviderError, match="asked for 2 embeddings, got 1"):
            await embedder.embed(["x", "y"])
        with pytest.raises(ProviderError, match="indexes are not 0 to 1"):
            await embedder.embed(["x", "y"])
        with pytest.raises(ProviderError, match="unreadable"):
            await embedder.embed(["x"])


async def test_connection_refused_is_provider_unavailable() -> None:
    embedder = OpenAICompatEmbedder("m", base_url=f"http://127.0.0.1:{free_port()}/v1", retry=FAST_RETRY)
    async with embedder:
        with pytest.raises(ProviderUnavailable, match="cannot reach"):
            await embedder.embed(["x"])


def test_settings_are_checked_at_construction() -> None:
    with pytest.raises(ModelConfigError, match="base_url"):
        OpenAICompatEmbedder("m", base_url="127.0.0.1:8000/v1")
    with pytest.raises(ModelConfigError, match="batch_size"):
        OpenAICompatEmbedder("m", base_url="http://127.0.0.1:8000/v1", batch_size=0)
