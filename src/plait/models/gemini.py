"""Google's Gemini API through the official ``google-genai`` SDK (imported lazily; install ``plait[gemini]``).

Gemini names no tool calls, so calls get ids made from their position, name and arguments: the same in
``generate`` and ``stream``. Tool results are matched back to their function by those ids. Gemini wants
each call's ``thought_signature`` back with the call, so signatures ride in
``metadata["gemini_thought_signatures"]`` (call id to base64).
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import Any, cast

import httpx

from plait.models._http import (
    as_dict,
    as_int,
    as_list,
    as_str,
    check_options,
    data_url,
    missing_extra,
    new_http_client,
    retried_stream,
    status_error,
    transport_error,
    unsupported,
)
from plait.models.binding import ToolBinding
from plait.models.errors import ModelConfigError
from plait.models.retry import RetrySettings, with_retries
from plait.schema import ContentPart, FilePart, ImagePart, Message, TextPart, ToolCall, ToolSpec, Usage

OPTIONS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "response_format",
        "tool_choice",
        "thinking",
    }
)
SIGNATURES = "gemini_thought_signatures"
_RENAMED = {"max_tokens": "max_output_tokens", "thinking": "thinking_config"}
_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY", "any": "ANY"}
_FILTERED = {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"


class GeminiChatModel(ToolBinding):
    """A Gemini model. ``with_tools`` copies share the SDK and HTTP clients; ``aclose`` closes them."""

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
        self.model_id = model_id or f"gemini/{model}"
        try:
            from google import genai
            from google.genai import errors, types
        except ImportError as exc:
            raise missing_extra(self.model_id, "google-genai", "gemini") from exc
        self.default_options = dict(default_options or {})
        check_options(self.model_id, self.default_options, OPTIONS)
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.retry = retry
        self.tools: list[ToolSpec] = []
        self.tool_choice: str = "auto"
        self._errors_module: ModuleType = errors
        # Our own httpx client: its errors are the ones we map, and the SDK then never retries on its own.
        self._http = new_http_client(timeout, event_hooks={"response": [_note_response]})
        options = types.HttpOptions(
            base_url=base_url,
            headers=dict(headers or {}),
            timeout=int(timeout * 1000),  # milliseconds; without it the SDK waits forever
            httpx_async_client=self._http,
        )
        try:
            self._client = genai.Client(api_key=api_key, http_options=options)
        except ValueError as exc:  # no key given nor found in GEMINI_API_KEY / GOOGLE_API_KEY
            raise ModelConfigError(self.model_id, f"no Gemini API key: {exc}") from exc

    async def aclose(self) -> None:
        await self._client.aio.aclose()
        await self._http.aclose()

    async def generate(self, messages: Sequence[Message], **options: Any) -> Message:
        request = self._request(messages, options)
        return await with_retries(self.retry, lambda: self._generate_once(request))

    def stream(self, messages: Sequence[Message], **options: Any) -> AsyncIterator[Message]:
        request = self._request(messages, options)
        return retried_stream(self.retry, lambda: self._stream_once(request))

    async def _generate_once(self, request: dict[str, Any]) -> Message:
        with self._errors():
            response = await self._client.aio.models.generate_content(**request)
        return _Reader(streaming=False).message(response.model_dump(mode="json", exclude_none=True))

    async def _stream_once(self, request: dict[str, Any]) -> AsyncGenerator[Message, None]:
        """The SDK's stream is a chain of generators that only closes its HTTP response when garbage
        collection gets to it; the responses opened while reading it are closed here, at once."""
        opened: list[httpx.Response] = []
        with self._errors():
            stream = await self._client.aio.models.generate_content_stream(**request)
            responses = cast(AsyncGenerator[Any, None], stream)  # the SDK hands out an async generator
            reader = _Reader(streaming=True)
            try:
                while True:
                    token = _OPENED.set(opened)
                    try:
                        response = await anext(responses, None)
                    finally:
                        _OPENED.reset(token)
                    if response is None:
                        return
                    chunk = reader.chunk(response.model_dump(mode="json", exclude_none=True))
                    if chunk is not None:
                        yield chunk
            finally:
                await responses.aclose()
                for http_response in opened:
                    await http_response.aclose()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except self._errors_module.APIError as exc:
            headers = exc.response.headers if isinstance(exc.response, httpx.Response) else {}
            raise status_error(self.model_id, exc.code, headers, exc.details) from exc
        except httpx.TransportError as exc:
            raise transport_error(self.model_id, self.base_url, exc, self.timeout) from exc

    # -- request --------------------------------------------------------------------------------------
    def _request(self, messages: Sequence[Message], options: Mapping[str, Any]) -> dict[str, Any]:
        check_options(self.model_id, options, OPTIONS)
        merged = {**self.default_options, **options}
        config: dict[str, Any] = {}
        system = "\n\n".join(m.text for m in messages if m.role == "system")
        if system:
            config["system_instruction"] = system
        if "stop" in merged:
            stop = merged.pop("stop")
            config["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        config.update(_response_format(merged.pop("response_format", None)))
        choice = merged.pop("tool_choice", self.tool_choice)
        if self.tools:
            declarations = [
                {"name": t.name, "description": t.description, "parameters_json_schema": t.parameters}
                for t in self.tools
            ]
            config["tools"] = [{"function_declarations": declarations}]
            config["tool_config"] = {"function_calling_config": _calling(choice)}
        config.update({_RENAMED.get(name, name): value for name, value in merged.items()})
        return {"model": self.model, "contents": self._contents(messages), "config": config}

    def _contents(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        """User and model turns; consecutive parts of one role merge, so that parallel tool results
        answer their calls in one turn as Gemini requires."""
        names = {call.id: call.name for m in messages for call in m.tool_calls}
        contents: list[dict[str, Any]] = []
        for message in messages:
            if message.role == "system":
                continue
            role = "model" if message.role == "assistant" else "user"
            parts = self._parts(message, names)
            if not parts:
                continue
            if contents and contents[-1]["role"] == role:
                contents[-1]["parts"].extend(parts)
            else:
                contents.append({"role": role, "parts": parts})
        return contents

    def _parts(self, message: Message, names: Mapping[str, str]) -> list[dict[str, Any]]:
        if message.role == "tool":
            name = message.name or names.get(message.tool_call_id or "")
            if not name:
                raise unsupported(self.model_id, f"tool result {message.tool_call_id!r} without the call it answers")
            return [{"function_response": {"name": name, "response": {"output": message.text}}}]
        if isinstance(message.content, str):
            parts = [{"text": message.content}] if message.content else []
        else:
            parts = [self._part(part) for part in message.content]
        signatures = as_dict(message.metadata.get(SIGNATURES))
        for call in message.tool_calls:
            part: dict[str, Any] = {"function_call": {"name": call.name, "args": _args(call)}}
            if call.id in signatures:
                part["thought_signature"] = base64.b64decode(signatures[call.id])
            parts.append(part)
        return parts

    def _part(self, part: ContentPart) -> dict[str, Any]:
        if isinstance(part, TextPart):
            return {"text": part.text}
        if isinstance(part, ImagePart | FilePart):
            if inline := data_url(part.url):
                return {"inline_data": {"mime_type": inline[0], "data": base64.b64decode(inline[1])}}
            if uri := part.url or part.file_id:
                mime = (part.mime_type if isinstance(part, FilePart) else "") or mimetypes.guess_type(uri)[0]
                return {"file_data": {"file_uri": uri, "mime_type": mime or "application/octet-stream"}}
        raise unsupported(self.model_id, f"a {part.type} part")


# The responses the current stream read opened; set only while the SDK is being asked for the next chunk.
_OPENED: ContextVar[list[httpx.Response] | None] = ContextVar("plait_gemini_opened", default=None)


async def _note_response(response: httpx.Response) -> None:
    opened = _OPENED.get()
    if opened is not None:
        opened.append(response)


def _args(call: ToolCall) -> dict[str, Any]:
    """Gemini needs the arguments as an object; malformed ones go back empty (their tool result said so)."""
    try:
        value = json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _calling(choice: object) -> dict[str, Any]:
    """Plait's tool choice as Gemini's function-calling mode; a tool name forces that function."""
    if isinstance(choice, Mapping):
        return dict(choice)
    if isinstance(choice, str) and choice in _MODES:
        return {"mode": _MODES[choice]}
    return {"mode": "ANY", "allowed_function_names": [choice]}


def _response_format(response_format: object) -> dict[str, Any]:
    """OpenAI's ``response_format`` as Gemini's JSON mode and JSON schema."""
    spec = as_dict(response_format)
    if spec.get("type") == "json_object":
        return {"response_mime_type": "application/json"}
    if spec.get("type") == "json_schema":
        schema = as_dict(spec.get("json_schema")).get("schema", {})
        return {"response_mime_type": "application/json", "response_json_schema": schema}
    return {}


def call_id(position: int, name: str, arguments: str) -> str:
    """A stable id for a call Gemini did not name: the same call gets the same id in both modes."""
    digest = hashlib.sha256(f"{name}\0{arguments}".encode()).hexdigest()[:8]
    return f"call_{position}_{digest}"


class _Reader:
    """Responses (or stream chunks) to messages; tool-call positions carry over from chunk to chunk."""

    def __init__(self, *, streaming: bool) -> None:
        self.streaming = streaming
        self.calls = 0
        self.metadata_sent = False
        self.signatures: dict[str, str] = {}

    def message(self, data: Mapping[str, Any]) -> Message:
        candidate = as_dict(next(iter(as_list(data.get("candidates"))), None))
        text: list[str] = []
        reasoning: list[str] = []
        calls: list[ToolCall] = []
        for part in map(as_dict, as_list(as_dict(candidate.get("content")).get("parts"))):
            if "function_call" in part:
                calls.append(self._call(part))
            elif part.get("thought"):
                reasoning.append(as_str(part.get("text")))
            else:
                text.append(as_str(part.get("text")))
        blocked = as_dict(data.get("prompt_feedback")).get("block_reason")  # a refused prompt has no candidates
        message = Message(
            role="assistant",
            content="".join(text),
            reasoning="".join(reasoning),
            tool_calls=calls,
            usage=_usage(data.get("usage_metadata")),
            finish_reason="content_filter" if blocked else self._finish(candidate.get("finish_reason")),
        )
        if not self.metadata_sent:
            names = (("id", "response_id"), ("model", "model_version"))
            message.metadata = {key: data[name] for key, name in names if isinstance(data.get(name), str)}
            self.metadata_sent = True
        if any(call.id in self.signatures for call in calls):
            message.metadata[SIGNATURES] = dict(self.signatures)  # cumulative: the last chunk's copy wins
        return message

    def chunk(self, data: Mapping[str, Any]) -> Message | None:
        """A stream chunk's message, or None for a chunk that carries nothing (its metadata waits)."""
        sent = self.metadata_sent
        message = self.message(data)
        if message.content or message.reasoning or message.tool_calls or message.usage or message.finish_reason:
            return message
        self.metadata_sent = sent
        return None

    def _call(self, part: Mapping[str, Any]) -> ToolCall:
        raw = as_dict(part.get("function_call"))
        name = as_str(raw.get("name"))
        arguments = json.dumps(raw.get("args", {}), ensure_ascii=False)
        call = ToolCall(
            id=as_str(raw.get("id")) or call_id(self.calls, name, arguments), name=name, arguments=arguments
        )
        if "thought_signature" in part:
            self.signatures[call.id] = as_str(part["thought_signature"])
        if self.streaming:
            call.index = self.calls
        self.calls += 1
        return call

    def _finish(self, reason: object) -> str | None:
        if not isinstance(reason, str) or reason in ("", "FINISH_REASON_UNSPECIFIED"):
            return None
        if reason == "STOP":
            return "tool_calls" if self.calls else "stop"
        if reason == "MAX_TOKENS":
            return "length"
        return "content_filter" if reason in _FILTERED else reason.lower()


def _usage(raw: object) -> Usage | None:
    """Gemini counts thoughts apart from the answer; Plait, like OpenAI, counts them as completion tokens."""
    usage = as_dict(raw)
    if not usage:
        return None
    prompt, thoughts = as_int(usage.get("prompt_token_count")), as_int(usage.get("thoughts_token_count"))
    completion = as_int(usage.get("candidates_token_count")) + thoughts
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=as_int(usage.get("total_token_count")) or prompt + completion,
        reasoning_tokens=thoughts,
        cached_tokens=as_int(usage.get("cached_content_token_count")),
    )
