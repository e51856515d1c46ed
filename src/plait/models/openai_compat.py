"""OpenAI's chat completions API, as OpenAI and every server copying it speak it (DeepSeek, DashScope
compatible mode, Volcengine Ark, Moonshot, vLLM, Ollama, llama.cpp, LM Studio): the base URL picks the
server. Plain httpx, so no SDK is needed and server-specific fields pass through ``extra_body``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any

import httpx

from plait.models._http import (
    as_dict,
    as_int,
    as_list,
    as_str,
    check_options,
    data_url,
    new_http_client,
    pop_extra_body,
    retried_stream,
    status_error,
    transport_error,
    unreachable,
    unsupported,
)
from plait.models.binding import ToolBinding
from plait.models.errors import ModelConfigError, ProviderError
from plait.models.retry import RetrySettings, with_retries
from plait.schema import AudioPart, ContentPart, FilePart, ImagePart, Message, TextPart, ToolCall, ToolSpec, Usage

OPTIONS = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "stop",
        "seed",
        "response_format",
        "tool_choice",
        "parallel_tool_calls",
        "presence_penalty",
        "frequency_penalty",
        "user",
        "extra_body",
    }
)
_TOOL_OPTIONS = ("tool_choice", "parallel_tool_calls")  # only meaningful, and only accepted, with tools


class OpenAICompatChatModel(ToolBinding):
    """A chat model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    ``with_tools`` copies share the HTTP client, so closing any of them closes it for all; a client passed
    in is left to its owner.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str | None = None,
        model_id: str | None = None,
        timeout: float = 60,
        retry: RetrySettings = RetrySettings(),  # noqa: B008 - frozen, so sharing the default is safe
        default_options: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        require_api_key: bool = False,
    ) -> None:
        self.model = model
        self.model_id = model_id or f"openai_compat/{model}"
        if require_api_key and not api_key:
            raise ModelConfigError(self.model_id, f"an API key is required for {base_url}")
        self.default_options = dict(default_options or {})
        check_options(self.model_id, self.default_options, OPTIONS)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry
        self.tools: list[ToolSpec] = []
        self.tool_choice: str = "auto"
        self._headers = {"Accept": "application/json", **(headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._owns_client = http_client is None
        self._client = http_client or new_http_client(timeout)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def generate(self, messages: Sequence[Message], **options: Any) -> Message:
        body = self._body(messages, options, stream=False)
        return await with_retries(self.retry, lambda: self._post(body))

    def stream(self, messages: Sequence[Message], **options: Any) -> AsyncIterator[Message]:
        body = self._body(messages, options, stream=True)
        return retried_stream(self.retry, lambda: self._stream_once(body))

    # -- HTTP -----------------------------------------------------------------------------------------
    @property
    def _url(self) -> str:
        return f"{self.base_url}/chat/completions"

    async def _post(self, body: dict[str, Any]) -> Message:
        try:
            response = await self._client.post(self._url, json=body, headers=self._headers, timeout=self.timeout)
        except httpx.TransportError as exc:
            raise transport_error(self.model_id, self.base_url, exc, self.timeout) from exc
        if response.status_code >= 400:
            raise status_error(self.model_id, response.status_code, response.headers, response.content)
        return _Reader(self.model_id).completion(self._json(response))

    async def _stream_once(self, body: dict[str, Any]) -> AsyncGenerator[Message, None]:
        try:
            async with self._client.stream(
                "POST", self._url, json=body, headers=self._headers, timeout=self.timeout
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise status_error(self.model_id, response.status_code, response.headers, response.content)
                if response.headers.get("content-type", "").startswith("application/json"):
                    await response.aread()  # a server that does not stream answers in one piece
                    yield _Reader(self.model_id).completion(self._json(response))
                    return
                events = _SSEDecoder(self.model_id, self._url)
                reader = _Reader(self.model_id)
                async for line in response.aiter_lines():
                    data = events.feed(line)
                    if data == "[DONE]":
                        return
                    chunk = reader.chunk(events.parse(data)) if data is not None else None
                    if chunk is not None:
                        yield chunk
                if not reader.finished:  # the body ended cleanly, but the answer did not: a cut, not an answer
                    raise unreachable(self.model_id, self.base_url, "the stream ended before the answer finished")
        except httpx.TransportError as exc:
            raise transport_error(self.model_id, self.base_url, exc, self.timeout) from exc

    def _json(self, response: httpx.Response) -> object:
        try:
            return response.json()
        except ValueError as exc:
            raise ProviderError(self.model_id, f"{self._url} answered with non-JSON: {response.text[:200]!r}") from exc

    # -- request --------------------------------------------------------------------------------------
    def _body(self, messages: Sequence[Message], options: Mapping[str, Any], *, stream: bool) -> dict[str, Any]:
        check_options(self.model_id, options, OPTIONS)
        merged = {**self.default_options, **options}
        extra = pop_extra_body(self.model_id, merged)
        tool_options = {name: merged.pop(name) for name in _TOOL_OPTIONS if name in merged}
        body: dict[str, Any] = {"model": self.model, "messages": [self._message(m) for m in messages], **merged}
        if self.tools:
            body["tools"] = [{"type": "function", "function": _function(tool)} for tool in self.tools]
            body["tool_choice"] = _tool_choice(tool_options.pop("tool_choice", self.tool_choice))
            body.update(tool_options)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        body.update(extra)
        return body

    def _message(self, message: Message) -> dict[str, Any]:
        if message.role == "tool":
            return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.text}
        wire: dict[str, Any] = {"role": message.role, "content": self._content(message.content)}
        if message.name:
            wire["name"] = message.name
        if message.role == "assistant" and message.tool_calls:
            wire["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in message.tool_calls
            ]
            if not wire["content"]:
                wire["content"] = None
        return wire

    def _content(self, content: str | list[ContentPart]) -> str | list[dict[str, Any]]:
        if isinstance(content, str):
            return content
        return [self._part(part) for part in content]

    def _part(self, part: ContentPart) -> dict[str, Any]:
        if isinstance(part, TextPart):
            return {"type": "text", "text": part.text}
        if isinstance(part, ImagePart) and part.url:
            return {"type": "image_url", "image_url": {"url": part.url, "detail": part.detail}}
        if isinstance(part, FilePart) and (part.file_id or data_url(part.url)):
            file = {"file_id": part.file_id} if part.file_id else {"file_data": part.url}
            return {"type": "file", "file": {**file, **({"filename": part.name} if part.name else {})}}
        if isinstance(part, AudioPart) and (inline := data_url(part.url)):
            mime, data = inline
            return {"type": "input_audio", "input_audio": {"data": data, "format": part.format or mime.split("/")[-1]}}
        raise unsupported(self.model_id, f"a {part.type} part without a URL or data this API accepts")


def _function(tool: ToolSpec) -> dict[str, Any]:
    return {"name": tool.name, "description": tool.description, "parameters": tool.parameters}


def _tool_choice(choice: object) -> object:
    """``auto``/``none``/``required`` (``any`` is Anthropic's word for it), or a tool name to force."""
    if not isinstance(choice, str) or choice in ("auto", "none", "required"):
        return choice
    if choice == "any":
        return "required"
    return {"type": "function", "function": {"name": choice}}


class _SSEDecoder:
    """Server-sent events, line by line: returns an event's data once its blank line arrives."""

    def __init__(self, model_id: str, url: str) -> None:
        self.model_id = model_id
        self.url = url
        self.data: list[str] = []

    def feed(self, line: str) -> str | None:
        if not line:
            data, self.data = self.data, []
            return "\n".join(data) if data else None
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if name == "data":
            self.data.append(value.removeprefix(" "))
        elif name not in ("event", "id", "retry"):
            raise ProviderError(self.model_id, f"malformed server-sent event line from {self.url}: {line[:200]!r}")
        return None

    def parse(self, data: str) -> dict[str, Any]:
        try:
            value = json.loads(data)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise ProviderError(self.model_id, f"malformed stream event from {self.url}, not JSON: {data[:200]!r}")
        return value


class _Reader:
    """Turns completions and stream chunks into Messages; defensive, as servers differ in what they omit."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.metadata_sent = False
        self.saw_tool_calls = False
        self.next_index = 0  # for servers that leave ``index`` out of tool-call deltas
        self.finished = False  # a chunk gave a finish_reason: the answer is whole

    def completion(self, data: object) -> Message:
        body = as_dict(data)
        self._raise_in_band_error(body)
        choices = as_list(body.get("choices"))
        if not choices:
            raise ProviderError(self.model_id, f"the response has no choices: {json.dumps(data)[:200]}")
        choice = as_dict(choices[0])
        wire = as_dict(choice.get("message"))
        calls = [_call(as_dict(raw)) for raw in as_list(wire.get("tool_calls"))]
        self.saw_tool_calls = bool(calls)
        return Message(
            role="assistant",
            content=as_str(wire.get("content")),
            reasoning=as_str(wire.get("reasoning_content")) or as_str(wire.get("reasoning")),
            tool_calls=calls,
            usage=_usage(body.get("usage")),
            finish_reason=self._finish(choice.get("finish_reason")),
            metadata=_metadata(body),
        )

    def chunk(self, data: dict[str, Any]) -> Message | None:
        self._raise_in_band_error(data)
        choice = as_dict(next(iter(as_list(data.get("choices"))), None))
        delta = as_dict(choice.get("delta"))
        calls = [self._call_delta(as_dict(raw)) for raw in as_list(delta.get("tool_calls"))]
        message = Message(
            role="assistant",
            content=as_str(delta.get("content")),
            reasoning=as_str(delta.get("reasoning_content")) or as_str(delta.get("reasoning")),
            tool_calls=calls,
            usage=_usage(data.get("usage")),
            finish_reason=self._finish(choice.get("finish_reason")),
        )
        self.finished = self.finished or message.finish_reason is not None
        if not (message.content or message.reasoning or calls or message.usage or message.finish_reason):
            return None
        if not self.metadata_sent:
            message.metadata = _metadata(data)
            self.metadata_sent = True
        return message

    def _call_delta(self, raw: dict[str, Any]) -> ToolCall:
        self.saw_tool_calls = True
        index = raw.get("index")
        if not isinstance(index, int):
            index = self.next_index if raw.get("id") else max(self.next_index - 1, 0)
        self.next_index = max(self.next_index, index + 1)
        return _call(raw, index=index)

    def _finish(self, reason: object) -> str | None:
        """OpenAI's reasons as they are; ``function_call`` and a ``stop`` after tool calls (Ollama, some
        llama.cpp builds) both mean the model wants its tools run."""
        if not isinstance(reason, str) or not reason:
            return None
        if reason == "function_call" or (reason == "stop" and self.saw_tool_calls):
            return "tool_calls"
        return reason

    def _raise_in_band_error(self, data: dict[str, Any]) -> None:
        """Some servers (vLLM, proxies) report a failure inside a 200 body or mid-stream."""
        if not data.get("error") or "choices" in data:
            return
        error = as_dict(data["error"])
        status = as_int(error.get("code")) or as_int(data.get("code"))
        raise status_error(self.model_id, status if 400 <= status < 600 else 500, {}, data)


def _call(raw: dict[str, Any], *, index: int | None = None) -> ToolCall:
    """A tool call (or a delta of one). Arguments are kept verbatim, so malformed JSON surfaces in
    ``parsed_arguments()``; servers that send an object instead of text get it as JSON."""
    function = as_dict(raw.get("function"))
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        arguments = "" if arguments is None else json.dumps(arguments, ensure_ascii=False)
    return ToolCall(id=as_str(raw.get("id")), name=as_str(function.get("name")), arguments=arguments, index=index)


def _usage(raw: object) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt, completion = as_int(raw.get("prompt_tokens")), as_int(raw.get("completion_tokens"))
    cached = as_int(as_dict(raw.get("prompt_tokens_details")).get("cached_tokens"))
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=as_int(raw.get("total_tokens")) or prompt + completion,
        reasoning_tokens=as_int(as_dict(raw.get("completion_tokens_details")).get("reasoning_tokens")),
        cached_tokens=cached or as_int(raw.get("prompt_cache_hit_tokens")),  # DeepSeek's name for it
    )


def _metadata(body: dict[str, Any]) -> dict[str, Any]:
    return {key: body[key] for key in ("id", "model") if isinstance(body.get(key), str)}
