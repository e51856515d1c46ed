"""Joining the chunks of a stream back into one value, by chunk type.

A registry, so that a new chunk type (a provider's delta, a workflow event) says once how its chunks
join and every stream, graph and node can then turn a stream into a value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from plait.schema.errors import ConcatError
from plait.schema.message import ContentPart, Message, TextPart, ToolCall, Usage

T = TypeVar("T")
_CONCATTERS: dict[type, Callable[[Sequence[Any]], Any]] = {}
_RESOLVED: dict[type, Callable[[Sequence[Any]], Any]] = {}  # rules found through a base class, per type


def register_concat(chunk_type: type[T], join: Callable[[Sequence[T]], T]) -> None:
    """Teach ``concat`` how chunks of ``chunk_type`` (and its subclasses) join."""
    _CONCATTERS[chunk_type] = join
    _RESOLVED.clear()


def concat(chunks: Sequence[T]) -> T:
    """Join chunks into one value. One chunk is itself; an empty sequence has no value."""
    if len(chunks) == 1:
        return chunks[0]
    if not chunks:
        raise ConcatError("cannot concatenate an empty stream: it produced no value")
    first_type = type(chunks[0])
    join = _find(first_type)
    if join is None:
        raise ConcatError(f"no concat rule for chunks of type {first_type.__name__}; register one")
    for chunk in chunks:
        if not isinstance(chunk, first_type) and _find(type(chunk)) is not join:
            raise ConcatError(f"cannot join {first_type.__name__} with {type(chunk).__name__}")
    return join(chunks)  # type: ignore[no-any-return]


def _find(chunk_type: type) -> Callable[[Sequence[Any]], Any] | None:
    join = _RESOLVED.get(chunk_type)
    if join is not None:
        return join
    for base in chunk_type.__mro__:
        join = _CONCATTERS.get(base)
        if join is not None:
            _RESOLVED[chunk_type] = join
            return join
    return None


def _join_dicts(chunks: Sequence[dict[Any, Any]]) -> dict[Any, Any]:
    """Per key: the values that key took across chunks, concatenated by their own type."""
    grouped: dict[Any, list[Any]] = {}
    for chunk in chunks:
        for key, value in chunk.items():
            grouped.setdefault(key, []).append(value)
    return {key: concat(values) for key, values in grouped.items()}


def _join_lists(chunks: Sequence[list[Any]]) -> list[Any]:
    return [item for chunk in chunks for item in chunk]


def _join_messages(chunks: Sequence[Message]) -> Message:
    first = chunks[0]
    merged = Message(role=first.role)
    texts: list[str] = []
    parts: list[ContentPart] | None = None
    reasoning: list[str] = []
    calls: dict[int, ToolCall] = {}
    unindexed: list[ToolCall] = []
    for chunk in chunks:
        if isinstance(chunk.content, str):
            if parts is None:
                texts.append(chunk.content)
            elif chunk.content:
                parts.append(TextPart(text=chunk.content))
        else:
            if parts is None:
                parts = [TextPart(text="".join(texts))] if any(texts) else []
            parts.extend(chunk.content)
        if chunk.reasoning:
            reasoning.append(chunk.reasoning)
        for call in chunk.tool_calls:
            if call.index is None:
                unindexed.append(ToolCall(id=call.id, name=call.name, arguments=call.arguments))
                continue
            into = calls.get(call.index)
            if into is None:
                calls[call.index] = ToolCall(id=call.id, name=call.name, arguments=call.arguments, index=call.index)
            else:
                into.id = into.id or call.id
                into.name = into.name or call.name
                into.arguments += call.arguments
        merged.tool_call_id = merged.tool_call_id or chunk.tool_call_id
        merged.name = merged.name or chunk.name
        merged.usage = chunk.usage or merged.usage
        merged.finish_reason = chunk.finish_reason or merged.finish_reason
        merged.metadata.update(chunk.metadata)
    merged.content = parts if parts is not None else "".join(texts)
    merged.reasoning = "".join(reasoning)
    merged.tool_calls = [calls[i] for i in sorted(calls)] + unindexed
    return merged


def _join_usage(chunks: Sequence[Usage]) -> Usage:
    """Usage chunks are cumulative reports: the last one counts."""
    return chunks[-1]


register_concat(str, "".join)
register_concat(bytes, b"".join)
register_concat(dict, _join_dicts)
register_concat(list, _join_lists)
register_concat(Message, _join_messages)
register_concat(Usage, _join_usage)
