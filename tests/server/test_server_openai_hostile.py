"""/openai/v1 against hostile or unlucky requests: embedding sizes that would exhaust memory, a viewer spending
the workspace's provider credit, and provider or server failures whose text names internal URLs and paths."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import openai
import pytest
from server_harness import Running
from typer.testing import CliRunner

from plait.cli import app as cli
from plait.models.errors import BadRequestError, ProviderUnavailable
from plait.schema import Message
from plait.server.openai.encoding import Frame
from plait.server.openai.errors import OpenAIError, translate
from plait.server.openai.routes import _sse
from plait.server.openai.schemas import MAX_INPUT_CHARS, MAX_INPUTS, EmbeddingRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))  # the model tests' fake providers
from fake_openai import OPENAI
from provider_servers import API_KEY, Failure, FakeProvider, Turn, serving

INTERNAL = "see /srv/plait/data/plait.db and https://gateway.internal:8443/v1?key=sk-live"


def _openai(server: Running, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/openai/v1", api_key=token, max_retries=0)


def _leaks(text: str) -> bool:
    return any(secret in text for secret in ("/srv/plait", "gateway.internal", "sk-live"))


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with serving(FakeProvider([OPENAI])) as provider:
        yield provider


@pytest.fixture(scope="module")
def models(server: Running, fake: FakeProvider) -> tuple[str, str]:
    """Two workspace providers, set before any request reads the workspace's models (a server caches them 5 s):
    one on the fake provider, one on a closed port."""
    return _provider(server, "leaky", f"{fake.url}/openai/v1"), _provider(server, "down", f"http://{_closed()}/v1")


def _provider(server: Running, name: str, base_url: str) -> str:
    args = ["providers", "set", name, "--kind", "openai_compat", "--base-url", base_url, "--model", "m", "--key", "-"]
    result = CliRunner().invoke(cli, args, env=server.env, input=f"{API_KEY}\n")
    assert result.exit_code == 0, result.output
    return f"{name}/m"


def _closed() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def admin(server: Running, token: str, models: tuple[str, str]) -> Iterator[openai.OpenAI]:
    with _openai(server, token) as client:
        yield client


# --- embeddings: bounded work per request ---------------------------------------------------------------------


@pytest.mark.parametrize("dimensions", [10**9, 4097, 7])
def test_embedding_dimensions_are_capped(admin: openai.OpenAI, dimensions: int) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        admin.embeddings.create(model="hashing", input="x", dimensions=dimensions)
    assert caught.value.status_code == 400 and caught.value.param == "dimensions"


def test_the_largest_dimensions_still_work(admin: openai.OpenAI) -> None:
    result = admin.embeddings.create(model="hashing", input="x", dimensions=4096)
    assert len(result.data[0].embedding) == 4096


def test_inputs_times_dimensions_is_capped(admin: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="fewer inputs") as caught:
        admin.embeddings.create(model="hashing", input=["a"] * 257, dimensions=4096)
    assert caught.value.param == "dimensions"


def test_input_count_and_size_are_capped() -> None:
    """Past the server's body limit in the test harness, so checked on the request model itself."""
    with pytest.raises(OpenAIError, match=f"at most {MAX_INPUTS} inputs") as many:
        EmbeddingRequest(model="hashing", input=["a"] * (MAX_INPUTS + 1)).texts()
    assert many.value.status == 400 and many.value.param == "input"
    with pytest.raises(OpenAIError, match=f"at most {MAX_INPUT_CHARS} characters") as big:
        EmbeddingRequest(model="hashing", input=["a" * (MAX_INPUT_CHARS // 2 + 1)] * 2).texts()
    assert big.value.param == "input"
    assert len(EmbeddingRequest(model="hashing", input=["a"] * MAX_INPUTS).texts()) == MAX_INPUTS


# --- roles: a chat completion is a writer's act -------------------------------------------------------------


def test_a_viewer_cannot_call_chat_models(server: Running, models: tuple[str, str], fake: FakeProvider) -> None:
    fake.reset()
    with _openai(server, server.make_key("--user", "olga", "--role", "viewer")) as viewer:
        for model in (models[0], "scripted/echo", "bot:123", "Plait Assistant"):
            for stream in (False, True):
                with pytest.raises(openai.PermissionDeniedError) as caught:
                    viewer.chat.completions.create(
                        model=model, messages=[{"role": "user", "content": "spend"}], stream=stream
                    )
                assert caught.value.status_code == 403 and caught.value.code == "forbidden"
                assert caught.value.type == "permission_error" and "viewer" in caught.value.message
        assert fake.requests == []  # refused before any provider was called
        assert models[0] in {m.id for m in viewer.models.list()}  # viewers still read
        assert len(viewer.embeddings.create(model="hashing", input="x").data[0].embedding) == 384


def test_a_member_can_call_chat_models(server: Running, models: tuple[str, str], fake: FakeProvider) -> None:
    fake.reset()
    fake.reply(Turn(text="paid"))
    with _openai(server, server.make_key("--user", "mia", "--role", "member")) as member:
        for model, answer in ((models[0], "paid"), ("scripted/echo", "hi")):
            reply = member.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
            assert reply.choices[0].message.content == answer


# --- failures: generic to the client, detailed in the log -----------------------------------------------------


def test_provider_errors_show_no_urls_or_paths(
    server: Running, token: str, models: tuple[str, str], fake: FakeProvider
) -> None:
    model, down = models
    headers = {"Authorization": f"Bearer {token}"}
    fake.reset()
    fake.reply(Failure(400, f"context too long; {INTERNAL}"), *[Failure(500, INTERNAL)] * 3)
    with httpx.Client(base_url=f"{server.base_url}/openai/v1", headers=headers, timeout=60) as http:
        body = {"model": model, "messages": [{"role": "user", "content": "x"}]}
        refused = http.post("/chat/completions", json=body)  # the client's problem: the provider's words, cleaned
        assert refused.status_code == 400 and "context too long" in refused.text and not _leaks(refused.text)
        assert "<path>" in refused.text and "<url>" in refused.text
        for failing in (model, down):  # the operator's problem: a generic message naming the log id
            failed = http.post("/chat/completions", json={**body, "model": failing})
            assert failed.status_code in (502, 503) and not _leaks(failed.text), failed.text
            assert "127.0.0.1" not in failed.text and f"logid {failed.headers['x-tt-logid']}" in failed.text


def test_unexpected_errors_are_generic() -> None:
    error = translate(RuntimeError(f"Traceback: sqlalchemy.exc.OperationalError {INTERNAL}"))
    assert error.status == 500 and error.type == "server_error" and error.message == "internal server error"
    cleaned = translate(BadRequestError("p/m", f"HTTP 400: too long; {INTERNAL}", status=400))
    assert cleaned.status == 400 and not _leaks(cleaned.message) and "too long" in cleaned.message
    hidden = translate(ProviderUnavailable("p/m", f"{INTERNAL} is unreachable"))
    assert hidden.status == 503 and not _leaks(hidden.message) and "p/m" in hidden.message


async def test_a_stream_that_fails_midway_ends_with_a_generic_error_event() -> None:
    async def failing() -> AsyncIterator[Message]:
        yield Message(role="assistant", content="partial ")
        raise ProviderUnavailable("p/m", f"{INTERNAL} stopped answering")

    chunks = failing()
    events = [e async for e in _sse(chunks, await anext(chunks), Frame("c", 0, "m"), include_usage=False)]
    assert "p/m: the provider failed or is unavailable" in events[-2] and not _leaks("".join(events))
    assert events[-1] == "data: [DONE]\n\n"
