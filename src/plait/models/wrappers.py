"""Chat models around chat models: per-provider limits, a response cache, and fallback chains.

Each wrapper is itself a ChatModel, so they stack (the registry builds limit -> cache -> model) and a
wrapped model is used exactly like a bare one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict
from typing import Any, Protocol

from plait.components import ChatModel
from plait.models.errors import ProviderError
from plait.schema import Message, ToolSpec
from plait.schema.serde import message_from_dict, message_to_dict


class ProviderLimits:
    """A provider's concurrency cap and request rate, shared by every model of that provider."""

    def __init__(self, *, max_concurrency: int | None = None, requests_per_minute: float | None = None) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if requests_per_minute is not None and requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be positive")
        self._slots = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._next_start = 0.0
        self._rate_lock = asyncio.Lock()

    async def _wait_turn(self) -> None:
        """Space request starts ``interval`` apart (a token bucket of size one)."""
        if not self._interval:
            return
        async with self._rate_lock:
            now = time.monotonic()
            wait = self._next_start - now
            self._next_start = max(now, self._next_start) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)

    async def acquire(self) -> None:
        await self._wait_turn()
        if self._slots is not None:
            await self._slots.acquire()

    def release(self) -> None:
        if self._slots is not None:
            self._slots.release()


class LimitedChatModel:
    """Holds a provider slot for the whole call (a stream keeps its slot until it ends or is closed)."""

    def __init__(self, inner: ChatModel, limits: ProviderLimits) -> None:
        self.inner = inner
        self.limits = limits
        self.model_id = inner.model_id

    async def generate(self, messages: Sequence[Message], **options: Any) -> Message:
        await self.limits.acquire()
        try:
            return await self.inner.generate(messages, **options)
        finally:
            self.limits.release()

    async def stream(self, messages: Sequence[Message], **options: Any) -> AsyncIterator[Message]:
        await self.limits.acquire()
        try:
            async for chunk in self.inner.stream(messages, **options):
                yield chunk
        finally:
            self.limits.release()

    def with_tools(self, tools: Sequence[ToolSpec], *, tool_choice: str = "auto") -> LimitedChatModel:
        return LimitedChatModel(self.inner.with_tools(tools, tool_choice=tool_choice), self.limits)


class ResponseCache(Protocol):
    """Stores finished responses by request key; the platform backs it with Redis."""

    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def set(self, key: str, value: dict[str, Any]) -> None: ...


class MemoryResponseCache:
    """An LRU of responses with an optional time to live."""

    def __init__(self, *, max_entries: int = 1024, ttl: float | None = None) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    async def get(self, key: str) -> dict[str, Any] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, value = entry
        if self.ttl is not None and time.monotonic() - stored_at > self.ttl:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: dict[str, Any]) -> None:
        self._entries[key] = (time.monotonic(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class CachedChatModel:
    """Answers a request it has seen from the cache: same model, messages, tools and options.

    Only complete answers are stored (a stream that was closed early is not), and a cached answer is
    replayed as one chunk when streamed.
    """

    def __init__(self, inner: ChatModel, cache: ResponseCache, *, tools: Sequence[ToolSpec] = ()) -> None:
        self.inner = inner
        self.cache = cache
        self.tools = list(tools)
        self.model_id = inner.model_id

    def key(self, messages: Sequence[Message], options: dict[str, Any]) -> str:
        request = {
            "model": self.model_id,
            "messages": [message_to_dict(m) for m in messages],
            "tools": [asdict(t) for t in self.tools],
            "options": options,
        }
        text = json.dumps(request, sort_keys=True, ensure_ascii=False, default=repr)
        return "plait:chat:" + hashlib.sha256(text.encode()).hexdigest()

    async def generate(self, messages: Sequence[Message], **options: Any) -> Message:
        key = self.key(messages, options)
        hit = await self.cache.get(key)
        if hit is not None:
            return message_from_dict(hit)
        answer = await self.inner.generate(messages, **options)
        await self.cache.set(key, message_to_dict(answer))
        return answer

    async def stream(self, messages: Sequence[Message], **options: Any) -> AsyncIterator[Message]:
        from plait.schema import concat

        key = self.key(messages, options)
        hit = await self.cache.get(key)
        if hit is not None:
            yield message_from_dict(hit)
            return
        chunks: list[Message] = []
        async for chunk in self.inner.stream(messages, **options):
            chunks.append(chunk)
            yield chunk
        if chunks:
            await self.cache.set(key, message_to_dict(concat(chunks)))

    def with_tools(self, tools: Sequence[ToolSpec], *, tool_choice: str = "auto") -> CachedChatModel:
        return CachedChatModel(self.inner.with_tools(tools, tool_choice=tool_choice), self.cache, tools=tools)


class FallbackChatModel:
    """Tries each model in turn while they fail with provider errors (rate limits, outages, bad keys).

    A stream falls back only before its first chunk: once text has reached the caller, switching models
    would splice two answers together, so the error is raised instead.
    """

    def __init__(self, models: Sequence[ChatModel]) -> None:
        if not models:
            raise ValueError("a fallback chain needs at least one model")
        self.models = list(models)
        self.model_id = " | ".join(m.model_id for m in self.models)

    async def generate(self, messages: Sequence[Message], **options: Any) -> Message:
        errors: list[ProviderError] = []
        for model in self.models:
            try:
                return await model.generate(messages, **options)
            except ProviderError as exc:
                errors.append(exc)
        raise errors[-1]

    async def stream(self, messages: Sequence[Message], **options: Any) -> AsyncIterator[Message]:
        last: ProviderError | None = None
        for model in self.models:
            started = False
            try:
                async for chunk in model.stream(messages, **options):
                    started = True
                    yield chunk
                return
            except ProviderError as exc:
                if started:
                    raise
                last = exc
        assert last is not None
        raise last

    def with_tools(self, tools: Sequence[ToolSpec], *, tool_choice: str = "auto") -> FallbackChatModel:
        return FallbackChatModel([m.with_tools(tools, tool_choice=tool_choice) for m in self.models])
