"""The OpenAI surface under /openai/v1, driven by the official openai SDK (sync and async) against a real server."""

from __future__ import annotations

import base64
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import openai
import pytest
import uvicorn
from server_harness import run_cli

from plait.server import create_app
from plait.server.openai import openai_router
from plait.settings import Settings

MODEL = "scripted/echo"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base_url, token) of a server on SQLite with the OpenAI router mounted (unless app.py mounts it)."""
    env = {"PLAIT_DATA_DIR": str(tmp_path_factory.mktemp("data")), "PLAIT_DATABASE_URL": ""}
    app = create_app(Settings.load(data_dir=Path(env["PLAIT_DATA_DIR"]), database_url=""))
    if not any(getattr(route, "path", "").startswith("/openai/v1") for route in app.routes):
        app.include_router(openai_router)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    token = run_cli(env, "keys", "create").strip().splitlines()[-1]
    try:
        yield f"http://127.0.0.1:{port}/openai/v1", token
    finally:
        uv.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def client(base: tuple[str, str]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=base[0], api_key=base[1], max_retries=0) as sdk:
        yield sdk


def test_models_list(client: openai.OpenAI) -> None:
    models = {m.id: m for m in client.models.list()}
    assert models[MODEL].owned_by == "scripted" and models[MODEL].object == "model"
    assert "hashing" in models


def test_chat_completion(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "hello there"}]},
            {"role": "assistant", "content": "hi"},
            {"role": "user", "content": "echo this back"},
        ],
        temperature=0.2,
        max_completion_tokens=50,
    )
    assert reply.id.startswith("chatcmpl-") and reply.object == "chat.completion" and reply.model == MODEL
    assert reply.choices[0].message.content == "echo this back"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.completion_tokens == 3
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 3


def test_chat_stream_with_usage(client: openai.OpenAI) -> None:
    text = "one two three four"
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": text}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    assert len({c.id for c in chunks}) == 1


async def test_async_client_stream_and_create(base: tuple[str, str]) -> None:
    async with openai.AsyncOpenAI(base_url=base[0], api_key=base[1], max_retries=0) as sdk:
        reply = await sdk.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "async hi"}])
        assert reply.choices[0].message.content == "async hi"
        stream = await sdk.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "async stream"}], stream=True
        )
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        assert "".join(parts) == "async stream"


def test_embeddings_hashing(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model="hashing", input=["red apple", "green pear"])
    assert [len(d.embedding) for d in result.data] == [384, 384]
    single = client.embeddings.create(model="hashing", input="red apple", encoding_format="float")
    assert single.data[0].embedding == pytest.approx(result.data[0].embedding, abs=1e-6)


def test_embeddings_base64_on_the_wire(base: tuple[str, str]) -> None:
    response = httpx.post(
        f"{base[0]}/embeddings",
        json={"model": "hashing", "input": "x y", "encoding_format": "base64", "dimensions": 64},
        headers={"Authorization": f"Bearer {base[1]}"},
    )
    raw = base64.b64decode(response.json()["data"][0]["embedding"])
    assert len(struct.unpack(f"<{len(raw) // 4}f", raw)) == 64


def test_bad_key(base: tuple[str, str]) -> None:
    with (
        openai.OpenAI(base_url=base[0], api_key="pat_wrong", max_retries=0) as sdk,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        sdk.models.list()
    assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"


def test_unknown_model_and_bot(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="nope/nothing", messages=[{"role": "user", "content": "x"}])
    assert caught.value.code == "model_not_found" and caught.value.param == "model"
    with pytest.raises(openai.NotFoundError, match="bot 123 not found") as bot:
        client.chat.completions.create(model="bot:123", messages=[{"role": "user", "content": "x"}], stream=True)
    assert bot.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="nope", input="x")


def test_missing_messages_is_named(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="messages") as caught:
        client.chat.completions.create(model=MODEL, messages=[])
    assert caught.value.param == "messages" and caught.value.type == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as missing:
        client.post("/chat/completions", body={"model": MODEL}, cast_to=httpx.Response)
    assert missing.value.param == "messages"


def test_unknown_route_has_openai_shape(base: tuple[str, str]) -> None:
    response = httpx.get(f"{base[0]}/nothing/here", headers={"Authorization": f"Bearer {base[1]}"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


async def test_sse_tool_call_deltas_and_close() -> None:
    """Tool-call deltas go out by index; closing the SSE generator (a client disconnect) closes the model stream."""
    from plait.models.scripted import ScriptedChatModel
    from plait.schema import Message
    from plait.server.openai.encoding import Frame
    from plait.server.openai.routes import _sse

    closed: list[bool] = []
    reply = ScriptedChatModel.tool_call("lookup", {"city": "Paris, France"}, call_id="call_1")
    chunks = ScriptedChatModel([reply]).stream([Message.user("x")])
    first = await anext(chunks)
    events = [e async for e in _sse(chunks, first, Frame("chatcmpl-1", 0, "m"), include_usage=False)]
    assert events[-1] == "data: [DONE]\n\n" and '"finish_reason":"tool_calls"' in events[-2]
    assert '"id":"call_1"' in "".join(events) and '"name":"lookup"' in "".join(events)

    async def endless() -> AsyncIterator[Message]:
        try:
            while True:
                yield Message(role="assistant", content="a ")
        finally:
            closed.append(True)

    stream = endless()
    sse = _sse(stream, await anext(stream), Frame("chatcmpl-2", 0, "m"), include_usage=False)
    await anext(sse)
    await anext(sse)
    await sse.aclose()
    assert closed == [True]
