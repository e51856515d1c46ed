"""What types a callable takes and gives, and whether one type can feed another.

Used by compile only. Unknown means compatible: the check rejects edges that cannot work, it does not
demand annotations.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Mapping
from typing import Any, Union, get_args, get_origin

from plait.schema import StreamReader

_STREAM_ORIGINS: tuple[Any, ...] = (StreamReader, AsyncIterator, AsyncIterable)
_GENERATOR_ORIGINS: tuple[Any, ...] = (
    AsyncIterator,
    AsyncIterable,
    typing.AsyncGenerator,
    Iterator,
    typing.Generator,
    typing.Iterable,
    StreamReader,
)


def signature_types(fn: Callable[..., Any]) -> tuple[Any, Any]:
    """The annotated type of the first parameter and the return type (Any where not annotated)."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        hints = {}
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    first = params[0].name if params else None
    return (hints.get(first, Any) if first else Any), hints.get("return", Any)


def is_stream_type(tp: Any) -> bool:
    origin = get_origin(tp) or tp
    return origin in _STREAM_ORIGINS


def element_type(tp: Any) -> Any:
    """The chunk type of a stream or generator annotation, or the annotation itself."""
    origin = get_origin(tp) or tp
    if origin in _GENERATOR_ORIGINS:
        args = get_args(tp)
        return args[0] if args else Any
    return tp


def accepts(target: Any, source: Any) -> bool:
    """Whether a value of type ``source`` can be given where ``target`` is expected."""
    target, source = _strip(target), _strip(source)
    if target is Any or source is Any or isinstance(target, typing.TypeVar) or isinstance(source, typing.TypeVar):
        return True
    if _is_union(source):
        return all(accepts(target, member) for member in get_args(source))
    if _is_union(target):
        return any(accepts(member, source) for member in get_args(target))
    if source is type(None) or target is type(None):
        return source is target
    target_cls, source_cls = _runtime_class(target), _runtime_class(source)
    if target_cls is None or source_cls is None:
        return True
    try:
        if not issubclass(source_cls, target_cls):
            return False
    except TypeError:
        return True
    return _args_accept(get_args(target), _element_args(source, source_cls))


def _element_args(source: Any, source_cls: type) -> tuple[Any, ...]:
    """Type arguments of ``source``; a str or bytes is a sequence of itself."""
    if source_cls in (str, bytes):
        return (source_cls,)
    return get_args(source)


def _args_accept(target_args: tuple[Any, ...], source_args: tuple[Any, ...]) -> bool:
    """Compare generic arguments pairwise when both sides have the same plain shape."""
    if not target_args or len(target_args) != len(source_args):
        return True
    if any(arg is Ellipsis or isinstance(arg, list) for arg in (*target_args, *source_args)):
        return True
    return all(accepts(t, s) for t, s in zip(target_args, source_args, strict=True))


def gives_mapping(tp: Any) -> bool:
    """Whether values of ``tp`` may be mappings: fan-in merges need dicts."""
    return accepts(Mapping, tp)


def _strip(tp: Any) -> Any:
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    return tp


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _runtime_class(tp: Any) -> type | None:
    if typing.is_typeddict(tp):
        return dict
    origin = get_origin(tp)
    if origin is typing.Literal:
        values = get_args(tp)
        return type(values[0]) if values else None
    candidate = origin or tp
    return candidate if isinstance(candidate, type) else None
