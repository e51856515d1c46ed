"""A provider that fails: a real OpenAI-compatible server on 127.0.0.1 (uvicorn in a thread) that misbehaves
on cue (answers 500 or 429, never answers, drops its stream mid-answer or ends it early as if all was said).
The provider's own client retries and
times out, a fallback chain moves on; once retries are spent a chat fails visibly (status failed, code 5001)
and keeps no half answer, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_harness import Running, run_cli
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from plait.models.errors import ProviderError
from plait.models.openai_compat import OpenAICompatChatModel
from plait.models.registry import ModelRegistry, ProviderConfig
from plait.models.retry import RetrySettings
from plait.schema import Message

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from tools_site import serve

ANSWER = "the provider's whole answer"


@dataclass(slots=True)
class Script:
    faults: list[str] = field(default_factory=list)
    requests: int = 0

    def next(self) -> str:
        self.requests += 1
        return self.faults.pop(0) if self.faults else "ok"


def _chunk(content: str) -> str:
    delta = {"choices": [{"index": 0, "delta": {"role": "assistant", "content": content}}]}
    return f"data: {json.dumps(delta)}\n\n"


async def _stream(fault: str) -> AsyncIterator[str]:
    words = ANSWER.split(" ")
    for index, word in enumerate(words):
        yield _chunk(word if index == 0 else f" {word}")
        if fault == "drop" and index == 1:
            raise ConnectionAbortedError("the provider dropped the stream")  # uvicorn cuts the connection
        if fault == "cut" and index == 1:
            return  # the body ends as if all was said: no finish_reason, no [DONE]
    finish = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    yield f"data: {json.dumps(finish)}\n\ndata: [DONE]\n\n"


def app(script: Script) -> Starlette:
    async def completions(request: Request) -> Response:
        body = await request.json()
        fault = script.next()
        if fault == "500":
            return JSONResponse({"error": {"message": "upstream exploded", "type": "server_error"}}, status_code=500)
        if fault == "429":
            return JSONResponse({"error": {"message": "slow down"}}, status_code=429, headers={"retry-after": "0"})
        if fault == "hang":
            await asyncio.sleep(3600)
        if body.get("stream"):
            return StreamingResponse(_stream(fault), media_type="text/event-stream")
        message = {"role": "assistant", "content": ANSWER}
        return JSONResponse({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


@contextmanager
def faulty_provider(script: Script) -> Iterator[str]:
    """The provider's base URL while it runs."""
    with serve(app(script)) as base_url:
        yield f"{base_url}/v1"


# -- the provider's client, alone ----------------------------------------------------------------------------
FAST = RetrySettings(max_attempts=4, initial_delay=0.01, max_delay=0.05)
QUESTION = [Message.user("hello?")]


async def test_500_429_and_a_timeout_are_retried_until_an_answer() -> None:
    script = Script(["500", "429", "hang"])
    with faulty_provider(script) as base_url:
        model = OpenAICompatChatModel("m", base_url=base_url, timeout=0.5, retry=FAST)
        try:
            answer = await model.generate(QUESTION)
        finally:
            await model.aclose()
    assert answer.text == ANSWER and script.requests == 4


async def test_retries_spent_raise_the_providers_error() -> None:
    script = Script(["500"] * 4)
    with faulty_provider(script) as base_url:
        model = OpenAICompatChatModel("m", base_url=base_url, timeout=0.5, retry=FAST)
        try:
            with pytest.raises(ProviderError) as failed:
                await model.generate(QUESTION)
        finally:
            await model.aclose()
    assert failed.value.status == 500 and script.requests == 4


async def test_a_fallback_chain_answers_from_the_next_provider() -> None:
    broken, healthy = Script(["500"] * 10), Script()
    with faulty_provider(broken) as broken_url, faulty_provider(healthy) as healthy_url:
        registry = ModelRegistry(
            [
                ProviderConfig(name="broken", kind="openai_compat", base_url=broken_url, max_retries=2),
                ProviderConfig(name="healthy", kind="openai_compat", base_url=healthy_url),
            ]
        )
        try:
            answer = await registry.fallback("broken/m", "healthy/m").generate(QUESTION)
            streamed = [chunk.text async for chunk in registry.fallback("broken/m", "healthy/m").stream(QUESTION)]
        finally:
            await registry.aclose()
    assert answer.text == ANSWER and "".join(streamed) == ANSWER
    assert broken.requests == 4 and healthy.requests == 2  # two tries each, then the healthy one


@pytest.mark.parametrize("fault", ["drop", "cut"])
async def test_a_stream_dropped_mid_answer_fails_and_is_not_spliced(fault: str) -> None:
    dropping, healthy = Script([fault]), Script()
    with faulty_provider(dropping) as dropping_url, faulty_provider(healthy) as healthy_url:
        registry = ModelRegistry(
            [
                ProviderConfig(name="dropping", kind="openai_compat", base_url=dropping_url),
                ProviderConfig(name="healthy", kind="openai_compat", base_url=healthy_url),
            ]
        )
        received = ""
        try:
            with pytest.raises(ProviderError):
                async for chunk in registry.fallback("dropping/m", "healthy/m").stream(QUESTION):
                    received += chunk.text
        finally:
            await registry.aclose()
    assert received and received != ANSWER  # part of the answer came, then the error
    assert dropping.requests == 1 and healthy.requests == 0  # no retry, no second answer after the first


# -- a chat through the server -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def provider(server: Running) -> Iterator[tuple[Script, str]]:
    """The faulty provider as the default workspace's ``faulty`` provider, and a published bot on it."""
    script = Script()
    with faulty_provider(script) as base_url:
        run_cli(
            server.env, "providers", "set", "faulty", "--kind", "openai_compat", "--base-url", base_url, "--model", "m"
        )
        yield script, base_url


@pytest.fixture(scope="module")
def bot(server: Running, token: str, space_id: str, provider: tuple[Script, str]) -> str:
    with httpx.Client(base_url=server.base_url, headers={"authorization": f"Bearer {token}"}) as http:
        body = {"space_id": space_id, "name": "faulty", "model_info_config": {"model_id": "faulty/m"}}
        bot_id: str = http.post("/v1/bot/create", json=body).json()["data"]["bot_id"]
        assert http.post("/v1/bot/publish", json={"bot_id": bot_id}).json()["code"] == 0
    return bot_id


def _chat(server: Running, token: str, bot_id: str, *, stream: bool) -> tuple[dict[str, Any], list[str]]:
    """One chat, to its end: the chat as retrieved afterwards, and the kinds of the events streamed."""
    headers = {"authorization": f"Bearer {token}"}
    question = {"role": "user", "content": "hello?", "content_type": "text"}
    body = {"bot_id": bot_id, "user_id": "u", "stream": stream, "additional_messages": [question]}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as http:
        events: list[str] = []
        if stream:
            with http.stream("POST", "/v3/chat", json=body) as response:
                lines = [line for line in response.iter_lines() if line]
            events = [line.removeprefix("event:").strip() for line in lines if line.startswith("event:")]
            created = json.loads(lines[1].removeprefix("data:"))
        else:
            created = http.post("/v3/chat", json=body).json()["data"]
        params = {"conversation_id": created["conversation_id"], "chat_id": created["id"]}
        deadline = time.monotonic() + 30
        while (chat := http.get("/v3/chat/retrieve", params=params).json()["data"])["status"] == "in_progress":
            assert time.monotonic() < deadline, "the chat did not end"
            time.sleep(0.1)
        chat["messages"] = http.get("/v3/chat/message/list", params=params).json()["data"]
    return chat, events


def test_a_chat_completes_after_the_provider_failed_twice(
    server: Running, token: str, bot: str, provider: tuple[Script, str]
) -> None:
    script = provider[0]
    script.faults[:] = ["500", "429"]
    chat, _ = _chat(server, token, bot, stream=False)
    assert chat["status"] == "completed" and not script.faults
    assert [m["content"] for m in chat["messages"] if m["type"] == "answer"] == [ANSWER]


def test_a_chat_fails_visibly_when_retries_are_spent(
    server: Running, token: str, bot: str, provider: tuple[Script, str]
) -> None:
    provider[0].faults[:] = ["500"] * 3
    chat, _ = _chat(server, token, bot, stream=False)
    assert chat["status"] == "failed" and chat["last_error"]["code"] == 5001
    assert "faulty/m" in chat["last_error"]["msg"] and "exploded" not in chat["last_error"]["msg"]
    assert [m for m in chat["messages"] if m["type"] == "answer"] == []  # no half answer saved


@pytest.mark.parametrize("fault", ["drop", "cut"])
def test_a_stream_dropped_mid_answer_fails_the_chat_and_keeps_no_half_answer(
    fault: str, server: Running, token: str, bot: str, provider: tuple[Script, str]
) -> None:
    provider[0].faults[:] = [fault]
    chat, events = _chat(server, token, bot, stream=True)
    assert "conversation.message.delta" in events and events[-2:] == ["conversation.chat.failed", "done"]
    assert chat["status"] == "failed" and chat["last_error"]["code"] == 5001
    assert [m for m in chat["messages"] if m["type"] == "answer"] == []
