"""``/openai/v1``: models, chat completions (plain and SSE) and embeddings, for the official openai SDKs.

Provider models (``scripted/echo``, ``openai/gpt-4o``...) and the workspace's bots as models (``bot:<id>``).
"""

from __future__ import annotations

import base64
import struct
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from plait.components import ChatModel
from plait.embeddings.hashing import HashingEmbedder
from plait.embeddings.local import MODEL_ID as LOCAL_EMBEDDING
from plait.embeddings.local import LocalEmbedder
from plait.models.errors import ModelConfigError, UnknownModelError
from plait.models.registry import ModelRegistry
from plait.platform.bots import MAX_PAGE_SIZE, list_bots
from plait.platform.chat.service import BOT_PREFIX
from plait.schema import Message, Usage
from plait.server.deps import Caller, Services, Uow, require_scope
from plait.server.envelope import allowed_methods
from plait.server.openai.bots import bot_completion, is_bot
from plait.server.openai.encoding import DONE, Frame, completion, delta_of
from plait.server.openai.errors import OpenAIError, OpenAIRoute, model_not_found, public_text, translate
from plait.server.openai.schemas import ChatCompletionRequest, EmbeddingRequest

openai_router = APIRouter(
    prefix="/openai/v1", route_class=OpenAIRoute, tags=["openai"], dependencies=[require_scope("chat")]
)

_STARTED = int(time.time())
EMBEDDING_MODELS = ("hashing", LOCAL_EMBEDDING)
_local_embedder: LocalEmbedder | None = None


@openai_router.get("/models")
async def list_models(uow: Uow, caller: Caller, services: Services) -> dict[str, Any]:
    registry = await services.models.registry(caller.workspace_id)
    ids = [*registry.known_models(), *EMBEDDING_MODELS]
    data = [{"id": i, "object": "model", "created": _STARTED, "owned_by": i.partition("/")[0]} for i in ids]
    listed = await list_bots(uow, caller, caller.workspace_id, status="all", page_num=1, page_size=MAX_PAGE_SIZE)
    data += [
        {"id": BOT_PREFIX + b.bot.id, "object": "model", "created": b.bot.created_at, "owned_by": "bot", "name": b.name}
        for b in listed.bots
    ]
    return {"object": "list", "data": data}


@openai_router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionRequest, uow: Uow, caller: Caller, services: Services
) -> dict[str, Any] | StreamingResponse:
    caller.require_model_calls()
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if is_bot(body.model):
        frame = Frame(completion_id, created, body.model)
        answer = await bot_completion(body, uow, caller, services.chats, frame)
        return (
            answer if isinstance(answer, StreamingResponse) else completion(completion_id, created, body.model, answer)
        )
    model = _chat_model(body, await services.models.registry(caller.workspace_id))
    messages = body.plait_messages()
    if not body.stream:
        reply = await model.generate(messages, **body.options())
        return completion(completion_id, created, body.model, reply)
    chunks = model.stream(messages, **body.options())
    try:  # the first chunk before answering, so a failing call is an error response, not a broken stream
        first = await anext(chunks)
    except StopAsyncIteration:
        first = Message(role="assistant")
    except BaseException:
        await _close(chunks)
        raise
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    events = _sse(chunks, first, Frame(completion_id, created, body.model), include_usage=include_usage)
    return StreamingResponse(events, media_type="text/event-stream", headers={"cache-control": "no-cache"})


@openai_router.post("/embeddings")
async def embeddings(body: EmbeddingRequest, _caller: Caller) -> dict[str, Any]:
    texts = body.texts()
    embedder: HashingEmbedder | LocalEmbedder
    if body.model == "hashing":
        embedder = HashingEmbedder(body.dimensions or 384)
    elif body.model == LOCAL_EMBEDDING:
        if body.dimensions not in (None, LocalEmbedder.dimension):
            raise OpenAIError(400, f"{LOCAL_EMBEDDING} makes {LocalEmbedder.dimension} dimensions", param="dimensions")
        embedder = _local()
    else:
        raise model_not_found(body.model, f"embedding models are {', '.join(EMBEDDING_MODELS)}")
    vectors = await embedder.embed(texts)
    data = [
        {"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
        for i, v in enumerate(vectors)
    ]
    tokens = sum(len(text.split()) for text in texts)
    return {
        "object": "list",
        "data": data,
        "model": body.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


@openai_router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def no_route(path: str, request: Request) -> None:
    """Unknown paths under this prefix answer in OpenAI's shape too (registered last: it matches anything); a
    known path asked with another method is 405 naming the allowed ones."""
    if allowed := allowed_methods(request):
        message = f"{request.method} is not allowed on /openai/v1/{path}; allowed: {', '.join(allowed)}"
        raise OpenAIError(405, message, code="method_not_allowed", headers={"Allow": ", ".join(allowed)})
    raise OpenAIError(404, f"no route /openai/v1/{path}", code="not_found")


def _chat_model(body: ChatCompletionRequest, registry: ModelRegistry) -> ChatModel:
    try:
        model = registry.get(body.model)
    except UnknownModelError as exc:
        raise model_not_found(body.model, str(exc)) from exc
    except ModelConfigError as exc:  # a missing key or URL is the server's configuration, not the request
        raise OpenAIError(503, public_text(str(exc)), type="api_error", code="model_not_configured") from exc
    tools = body.tool_specs()
    return model.with_tools(tools, tool_choice=body.tool_choice_name()) if tools else model


def _local() -> LocalEmbedder:
    """One embedder per process: it loads the model once, on its own worker thread."""
    global _local_embedder
    if _local_embedder is None:
        _local_embedder = LocalEmbedder()
    return _local_embedder


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


async def _sse(
    chunks: AsyncIterator[Message], first: Message, frame: Frame, *, include_usage: bool
) -> AsyncGenerator[str, None]:
    """Chunks as OpenAI SSE; the model stream is closed however this ends, a client disconnect included."""
    finish: str | None = None
    usage: Usage | None = None
    saw_calls = False
    try:
        yield frame.opening()
        chunk: Message | None = first
        while chunk is not None:
            finish, usage = chunk.finish_reason or finish, chunk.usage or usage
            saw_calls = saw_calls or bool(chunk.tool_calls)
            if delta := delta_of(chunk):
                yield frame.chunk(delta)
            chunk = await anext(chunks, None)
        yield frame.chunk({}, finish or ("tool_calls" if saw_calls else "stop"))
        if include_usage:
            yield frame.usage(usage or Usage())
    except Exception as exc:  # headers are sent: the error becomes an event the SDK raises as APIError
        yield frame.event(translate(exc).body())
    finally:
        await _close(chunks)
    yield DONE


async def _close(chunks: AsyncIterator[Message]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()
