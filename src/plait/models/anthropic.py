"""Anthropic's Messages API through the official SDK (imported lazily; install ``plait[anthropic]``).

Normalises Anthropic's shapes to Plait's: system messages become the top-level ``system``, tool results
become ``tool_result`` blocks in a user turn, thinking blocks become ``Message.reasoning``. Thinking blocks
are also kept in ``metadata["anthropic_thinking"]``, signatures included, because Anthropic requires them
back when a conversation with extended thinking continues after a tool call.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from plait.models._http import (
    as_dict,
    as_int,
    as_list,
    as_str,
    check_options,
    data_url,
    missing_extra,
    pop_extra_body,
    retried_stream,
    status_error,
    unreachable,
    unsupported,
)
from plait.models.binding import ToolBinding
from plait.models.retry import RetrySettings, with_retries
from plait.schema import (
    ContentPart,
    FilePart,
    ImagePart,
    Message,
    TextPart,
    ToolArgumentsError,
    ToolCall,
    ToolSpec,
    Usage,
)

OPTIONS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "stop",
        "tool_choice",
        "parallel_tool_calls",
        "thinking",
        "user",
        "extra_body",
    }
)
DEFAULT_MAX_TOKENS = 4096  # Anthropic requires max_tokens on every request
THINKING = "anthropic_thinking"
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "refusal": "content_filter",
}
# The status an error event inside a 200 stream stands for, by Anthropic's error type.
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "rate_limit_error": 429,
    "overloaded_error": 529,
}


class AnthropicChatModel(ToolBinding):
    """A Claude model. ``with_tools`` copies share the SDK client; ``aclose`` closes it for all of them."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        model_id: str | None = None,
        timeout: float = 60,
        retry: RetrySettings = RetrySettings(),  # noqa: B008 - frozen, so sharing the default is safe
        default_options: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.model = model
        self.model_id = model_id or f"anthropic/{model}"
        try:
            import anthropic
        except ImportError as exc:
            raise missing_extra(self.model_id, "anthropic", "anthropic") from exc
        self.default_options = dict(default_options or {})
        check_options(self.model_id, self.default_options, OPTIONS)
        self.retry = retry
        self.tools: list[ToolSpec] = []
        self.tool_choice: str = "auto"
        self._sdk: ModuleType = anthropic
        # Retries are ours (with_retries), so that every provider honours Retry-After the same way.
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0, default_headers=dict(headers or {})
        )
        self.base_url = str(self._client.base_url).rstrip("/")

    async def aclose(self) -> None:
        await self._client.close()

    async def generate(self, messages: Sequence[Message], **options: Any) -> Message:
        params = self._params(messages, options)
        return await with_retries(self.retry, lambda: self._create(params))

    def stream(self, messages: Sequence[Message], **options: Any) -> AsyncIterator[Message]:
        params = self._params(messages, options)
        return retried_stream(self.retry, lambda: self._stream_once(params))

    async def _create(self, params: dict[str, Any]) -> Message:
        with self._errors():
            response = await self._client.messages.create(**params)
        return _read_message(response.model_dump(exclude_none=True))

    async def _stream_once(self, params: dict[str, Any]) -> AsyncGenerator[Message, None]:
        with self._errors():
            events = await self._client.messages.create(**params, stream=True)
            async with events:  # closing the stream closes the HTTP response
                reader = _EventReader()
                async for event in events:
                    chunk = reader.read(event.model_dump(exclude_none=True))
                    if chunk is not None:
                        yield chunk

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SDK errors as Plait's typed errors, by HTTP status (or, mid-stream, by Anthropic's error type)."""
        try:
            yield
        except self._sdk.APIStatusError as exc:
            status = exc.status_code if exc.status_code >= 400 else _ERROR_STATUS.get(exc.type or "", 500)
            raise status_error(self.model_id, status, exc.response.headers, exc.body) from exc
        except self._sdk.APITimeoutError as exc:
            raise unreachable(self.model_id, self.base_url, f"no answer within {self._client.timeout}s") from exc
        except self._sdk.APIConnectionError as exc:
            cause = exc.__cause__  # the SDK's "Connection error." wraps what actually happened
            raise unreachable(
                self.model_id, self.base_url, f"{type(cause).__name__}: {cause}" if cause else str(exc)
            ) from exc

    # -- request --------------------------------------------------------------------------------------
    def _params(self, messages: Sequence[Message], options: Mapping[str, Any]) -> dict[str, Any]:
        check_options(self.model_id, options, OPTIONS)
        merged = {**self.default_options, **options}
        system = "\n\n".join(m.text for m in messages if m.role == "system")
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": merged.pop("max_tokens", DEFAULT_MAX_TOKENS),
            "messages": self._turns(messages),
        }
        if system:
            params["system"] = system
        if "stop" in merged:
            stop = merged.pop("stop")
            params["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        if "user" in merged:
            params["metadata"] = {"user_id": merged.pop("user")}
        choice = _tool_choice(merged.pop("tool_choice", self.tool_choice))
        if merged.pop("parallel_tool_calls", True) is False:
            choice["disable_parallel_tool_use"] = True
        if self.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in self.tools
            ]
            params["tool_choice"] = choice
        # temperature, top_p, top_k and thinking keep their names on the wire, but SDK versions differ in
        # which of them they accept as arguments: the request body takes them all.
        extra = pop_extra_body(self.model_id, merged)
        body = {**merged, **extra}
        if body:
            params["extra_body"] = body
        return params

    def _turns(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        """Alternating user/assistant turns: tool results ride in a user turn, and consecutive messages of
        one role merge, as Anthropic requires strict alternation."""
        turns: list[dict[str, Any]] = []
        for message in messages:
            if message.role == "system":
                continue
            role = "assistant" if message.role == "assistant" else "user"
            blocks = self._blocks(message)
            if not blocks:
                continue  # Anthropic rejects empty messages, and an empty one says nothing
            if turns and turns[-1]["role"] == role:
                turns[-1]["content"].extend(blocks)
            else:
                turns.append({"role": role, "content": blocks})
        return turns

    def _blocks(self, message: Message) -> list[dict[str, Any]]:
        if message.role == "tool":
            return [{"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.text}]
        blocks: list[dict[str, Any]] = []
        if message.role == "assistant":
            blocks += [dict(block) for block in as_list(message.metadata.get(THINKING))]
        if isinstance(message.content, str):
            blocks += [{"type": "text", "text": message.content}] if message.content else []
        else:
            blocks += [self._part(part) for part in message.content]
        for call in message.tool_calls:
            blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call)})
        return blocks

    def _part(self, part: ContentPart) -> dict[str, Any]:
        if isinstance(part, TextPart):
            return {"type": "text", "text": part.text}
        if isinstance(part, ImagePart | FilePart):
            kind = "image" if isinstance(part, ImagePart) else "document"
            if part.file_id:
                return {"type": kind, "source": {"type": "file", "file_id": part.file_id}}
            if inline := data_url(part.url):
                return {"type": kind, "source": {"type": "base64", "media_type": inline[0], "data": inline[1]}}
            if part.url:
                return {"type": kind, "source": {"type": "url", "url": part.url}}
        raise unsupported(self.model_id, f"a {part.type} part")


def _input(call: ToolCall) -> dict[str, Any]:
    """Anthropic needs the input as an object; a call whose arguments were malformed is sent back empty,
    its tool result having already told the model what went wrong."""
    try:
        return call.parsed_arguments()
    except ToolArgumentsError:
        return {}


def _tool_choice(choice: object) -> dict[str, Any]:
    if isinstance(choice, Mapping):
        return dict(choice)
    if choice in ("auto", "none", "any"):
        return {"type": choice}
    if choice == "required":
        return {"type": "any"}
    return {"type": "tool", "name": choice}


def _usage(raw: Mapping[str, Any]) -> Usage | None:
    if not raw:
        return None
    cache_read, cache_write = as_int(raw.get("cache_read_input_tokens")), as_int(raw.get("cache_creation_input_tokens"))
    prompt = as_int(raw.get("input_tokens")) + cache_read + cache_write  # input_tokens leaves cached ones out
    completion = as_int(raw.get("output_tokens"))
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion, cached_tokens=cache_read
    )


def _finish(reason: object) -> str | None:
    return _FINISH.get(reason, reason) if isinstance(reason, str) and reason else None


def _metadata(message: Mapping[str, Any]) -> dict[str, Any]:
    return {key: message[key] for key in ("id", "model") if isinstance(message.get(key), str)}


def _thinking_block(block: Mapping[str, Any]) -> dict[str, Any]:
    if block.get("type") == "redacted_thinking":
        return {"type": "redacted_thinking", "data": as_str(block.get("data"))}
    return {"type": "thinking", "thinking": as_str(block.get("thinking")), "signature": as_str(block.get("signature"))}


def _read_message(data: Mapping[str, Any]) -> Message:
    text: list[str] = []
    thinking: list[dict[str, Any]] = []
    calls: list[ToolCall] = []
    for block in map(as_dict, as_list(data.get("content"))):
        kind = block.get("type")
        if kind == "text":
            text.append(as_str(block.get("text")))
        elif kind in ("thinking", "redacted_thinking"):
            thinking.append(_thinking_block(block))
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input", {}), ensure_ascii=False)
            calls.append(ToolCall(id=as_str(block.get("id")), name=as_str(block.get("name")), arguments=arguments))
    metadata = _metadata(data)
    if thinking:
        metadata[THINKING] = thinking
    return Message(
        role="assistant",
        content="".join(text),
        reasoning="".join(block.get("thinking", "") for block in thinking),
        tool_calls=calls,
        usage=_usage(as_dict(data.get("usage"))),
        finish_reason=_finish(data.get("stop_reason")),
        metadata=metadata,
    )


class _EventReader:
    """Stream events to message chunks. Tool-call deltas are indexed by content block, so they merge."""

    def __init__(self) -> None:
        self.usage: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}
        self.thinking: dict[int, dict[str, Any]] = {}

    def read(self, event: Mapping[str, Any]) -> Message | None:
        kind, index = event.get("type"), as_int(event.get("index"))
        if kind == "message_start":
            message = as_dict(event.get("message"))
            self.usage = dict(as_dict(message.get("usage")))
            self.metadata = _metadata(message)
        elif kind == "content_block_start":
            block = as_dict(event.get("content_block"))
            if block.get("type") == "tool_use":
                call = ToolCall(id=as_str(block.get("id")), name=as_str(block.get("name")), index=index)
                return self._chunk(tool_calls=[call])
            if block.get("type") in ("thinking", "redacted_thinking"):
                self.thinking[index] = _thinking_block(block)
                return self._chunk(reasoning=as_str(block.get("thinking")))
            return self._chunk(content=as_str(block.get("text")))
        elif kind == "content_block_delta":
            return self._delta(index, as_dict(event.get("delta")))
        elif kind == "content_block_stop" and index in self.thinking:
            return self._chunk(metadata={THINKING: [dict(self.thinking[i]) for i in sorted(self.thinking)]})
        elif kind == "message_delta":
            self.usage.update(as_dict(event.get("usage")))
            reason = _finish(as_dict(event.get("delta")).get("stop_reason"))
            return self._chunk(finish_reason=reason, usage=_usage(self.usage))
        return None

    def _delta(self, index: int, delta: Mapping[str, Any]) -> Message | None:
        kind = delta.get("type")
        if kind == "text_delta":
            return self._chunk(content=as_str(delta.get("text")))
        if kind == "input_json_delta":
            return self._chunk(tool_calls=[ToolCall(arguments=as_str(delta.get("partial_json")), index=index)])
        if kind not in ("thinking_delta", "signature_delta"):
            return None  # citations and future delta kinds carry nothing Plait keeps
        block = self.thinking.setdefault(index, {"type": "thinking", "thinking": "", "signature": ""})
        if kind == "signature_delta":
            block["signature"] += as_str(delta.get("signature"))
            return None
        block["thinking"] += as_str(delta.get("thinking"))
        return self._chunk(reasoning=as_str(delta.get("thinking")))

    def _chunk(self, **fields: Any) -> Message | None:
        chunk = Message(role="assistant", **fields)
        if not (chunk.content or chunk.reasoning or chunk.tool_calls or chunk.metadata or chunk.usage):
            return None
        if self.metadata:
            chunk.metadata = {**self.metadata, **chunk.metadata}
            self.metadata = {}
        return chunk
