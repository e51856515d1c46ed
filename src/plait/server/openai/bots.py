"""Bots as OpenAI models (``model="bot:<id>"``, or the bot's name): the bot's persona, knowledge and tools
around the messages the client sends, run by the chat runner like any chat, its events encoded as chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from plait.platform import NotFound, Principal
from plait.platform.chat import service
from plait.platform.chat.events import ChatCompleted, ChatFailed, ChatRequiresAction, MessageDelta, RunEvent
from plait.platform.chat.outcome import outcome_of
from plait.platform.chat.records import ChatState
from plait.platform.chat.runner import ChatRunner, Run
from plait.platform.chat.service import BOT_PREFIX
from plait.platform.unit_of_work import UnitOfWork
from plait.schema import Message
from plait.server.openai.encoding import DONE, Frame
from plait.server.openai.errors import OpenAIError, model_not_found
from plait.server.openai.schemas import ChatCompletionRequest
from plait.server.tool_calls import tool_call_view


def is_bot(model: str) -> bool:
    """Provider models are ``provider/name``; ``bot:<id>`` and bare names are bots."""
    return model.startswith(BOT_PREFIX) or "/" not in model


async def bot_completion(
    body: ChatCompletionRequest, uow: UnitOfWork, caller: Principal, runner: ChatRunner, frame: Frame
) -> Message | StreamingResponse:
    try:
        run = await service.start_completion(uow, caller, runner, body.model, body.plait_messages(), body.tool_specs())
    except NotFound as exc:  # the only thing a completion looks up is its bot: the model
        raise model_not_found(body.model, exc.msg) from exc
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        events = _sse(runner, run, frame, include_usage=include_usage)
        return StreamingResponse(events, media_type="text/event-stream", headers={"cache-control": "no-cache"})
    assert run.task is not None
    await run.task
    return reply_of(run)


def reply_of(run: Run) -> Message:
    """The run's outcome as one assistant message: the answer, or the client tool calls it waits for."""
    outcome = outcome_of(run)
    if outcome.failure is not None:
        raise _failed(outcome.failure)
    state = outcome.state
    calls = list(state.pending.calls) if state.pending is not None else []
    message = Message.assistant(outcome.answer, tool_calls=calls)
    message.reasoning = outcome.reasoning
    message.usage = state.usage.to_usage()
    message.finish_reason = "tool_calls" if calls else "stop"
    return message


async def _sse(runner: ChatRunner, run: Run, frame: Frame, *, include_usage: bool) -> AsyncIterator[str]:
    try:
        yield frame.opening()
        async for batch in run.log.batches():
            yield "".join(chunk for event in batch for chunk in _chunks(event, frame, include_usage=include_usage))
    finally:
        if not run.log.closed:
            runner.stop(run.chat.id)
    yield DONE


def _chunks(event: RunEvent, frame: Frame, *, include_usage: bool) -> list[str]:
    """An event's OpenAI chunks: a delta's text, the closing chunks, or the error; nothing for the rest."""
    if isinstance(event, MessageDelta):
        delta = {"content": event.text} if event.text else {}
        if event.reasoning:
            delta["reasoning_content"] = event.reasoning
        return [frame.chunk(delta)] if delta else []
    if isinstance(event, ChatFailed):
        return [frame.event(_failed(event.chat).body())]
    if isinstance(event, ChatCompleted | ChatRequiresAction):
        return _closing(event.chat, frame, include_usage=include_usage)
    return []


def _closing(chat: ChatState, frame: Frame, *, include_usage: bool) -> list[str]:
    chunks = []
    finish = "stop"
    if chat.pending is not None:
        calls = [{"index": i, **tool_call_view(call)} for i, call in enumerate(chat.pending.calls)]
        chunks.append(frame.chunk({"tool_calls": calls}))
        finish = "tool_calls"
    chunks.append(frame.chunk({}, finish))
    if include_usage:
        chunks.append(frame.usage(chat.usage.to_usage()))
    return chunks


def _failed(chat: ChatState) -> OpenAIError:
    reason = chat.last_error.msg if chat.last_error is not None else "the bot failed"
    return OpenAIError(502, reason, type="api_error", code="bot_failed")
