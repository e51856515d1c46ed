"""Bots as OpenAI models (``model="bot:<id>"``, or the bot's name): the bot's persona, knowledge and tools
around the messages the client sends, run by the chat runner like any chat, its events encoded as chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from plait.platform import NotFound, Principal, chats
from plait.platform.chat_events import ChatEvent
from plait.platform.chat_runner import ChatRunner, Run
from plait.platform.chats import BOT_PREFIX
from plait.schema import Message, ToolCall, Usage
from plait.server.openai.errors import OpenAIError, model_not_found
from plait.server.openai.schemas import ChatCompletionRequest
from plait.store import UnitOfWork


def is_bot(model: str) -> bool:
    """Provider models are ``provider/name``; ``bot:<id>`` and bare names are bots."""
    return model.startswith(BOT_PREFIX) or "/" not in model


async def bot_completion(
    body: ChatCompletionRequest, uow: UnitOfWork, caller: Principal, runner: ChatRunner, frame: Any
) -> Message | StreamingResponse:
    """``frame`` is the completion's chunk framer (id, created, model) from the routes module."""
    try:
        job = await chats.start_completion(uow, caller, body.model, body.plait_messages(), body.tool_specs())
    except NotFound as exc:  # the only thing a completion looks up is its bot: the model
        raise model_not_found(body.model, exc.msg) from exc
    await uow.commit()
    run = runner.start(job)
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        events = _sse(runner, run, frame, include_usage=include_usage)
        return StreamingResponse(events, media_type="text/event-stream", headers={"cache-control": "no-cache"})
    assert run.task is not None
    await run.task
    return reply_of(run)


def reply_of(run: Run) -> Message:
    """The run's outcome as one assistant message: the answer, or the client tool calls it waits for."""
    text, reasoning, calls = "", "", []
    for event in run.log.events:
        if event.kind == "conversation.message.completed" and event.data and event.data["type"] == "answer":
            text, reasoning = event.data["content"], event.data["reasoning_content"]
        elif event.kind == "conversation.chat.failed" and event.data:
            raise OpenAIError(502, event.data["last_error"]["msg"], type="api_error", code="bot_failed")
    required = run.chat.required_action
    if required is not None:
        calls = [_tool_call(c) for c in required["submit_tool_outputs"]["tool_calls"]]
    message = Message.assistant(text, tool_calls=calls)
    message.reasoning = reasoning
    message.usage = _usage(run.chat.usage)
    message.finish_reason = "tool_calls" if calls else "stop"
    return message


async def _sse(runner: ChatRunner, run: Run, frame: Any, *, include_usage: bool) -> AsyncIterator[str]:
    try:
        yield frame.chunk({"role": "assistant", "content": ""})
        async for event in run.log.follow():
            for chunk in _chunks(event, frame, include_usage=include_usage):
                yield chunk
    finally:
        if not run.log.closed:
            runner.stop(run.chat.id)
    yield "data: [DONE]\n\n"


def _chunks(event: ChatEvent, frame: Any, *, include_usage: bool) -> list[str]:
    data = event.data or {}
    if event.kind == "conversation.message.delta":
        delta = {"content": data["content"]} if data["content"] else {}
        if data.get("reasoning_content"):
            delta["reasoning_content"] = data["reasoning_content"]
        return [frame.chunk(delta)] if delta else []
    if event.kind == "conversation.chat.failed":
        error = OpenAIError(502, data["last_error"]["msg"], type="api_error", code="bot_failed")
        return [frame.event(error.body())]
    if event.kind not in ("conversation.chat.completed", "conversation.chat.requires_action"):
        return []
    chunks = []
    finish = "stop"
    if event.kind == "conversation.chat.requires_action":
        calls = data["required_action"]["submit_tool_outputs"]["tool_calls"]
        chunks.append(frame.chunk({"tool_calls": [{"index": i, **call} for i, call in enumerate(calls)]}))
        finish = "tool_calls"
    chunks.append(frame.chunk({}, finish))
    if include_usage:
        chunks.append(frame.event({**frame.base, "choices": [], "usage": _usage_view(data.get("usage"))}))
    return chunks


def _tool_call(call: dict[str, Any]) -> ToolCall:
    return ToolCall(id=call["id"], name=call["function"]["name"], arguments=call["function"]["arguments"])


def _usage(usage: dict[str, int] | None) -> Usage:
    usage = usage or {}
    prompt, completion = usage.get("input_count", 0), usage.get("output_count", 0)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=usage.get("token_count", 0))


def _usage_view(usage: dict[str, int] | None) -> dict[str, int]:
    counted = _usage(usage)
    return {
        "prompt_tokens": counted.prompt_tokens,
        "completion_tokens": counted.completion_tokens,
        "total_tokens": counted.total_tokens,
    }
