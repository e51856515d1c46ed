"""Runnable: anything that runs in the four modes, and Lambda, which turns callables into one.

The four modes are written once here (habit: eino ``runnable.go``): a component provides whichever of
invoke (value -> value), stream (value -> stream), collect (stream -> value) and transform
(stream -> stream) it has, and the others are derived by concatenating a stream into a value or
wrapping a value as a one-chunk stream.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterable, Awaitable, Callable, Coroutine, Iterable, Iterator
from typing import Any, Generic, TypeVar, cast

from plait.compose.errors import GraphSetupError
from plait.compose.typing_rules import element_type, is_stream_type, signature_types
from plait.schema import StreamReader
from plait.schema.stream import _Source

I = TypeVar("I")
O = TypeVar("O")

Chunks = AsyncIterable[O] | Iterable[O] | StreamReader[O]


class Runnable(Generic[I, O]):
    """Base of graph nodes and compiled graphs. Subclasses implement ``ainvoke`` and the two ``_open`` steps.

    ``_open_stream`` / ``_open_transform`` run eagerly up to the point where an output stream exists;
    the public ``astream`` / ``atransform`` defer even that until the first read.
    """

    name: str = "runnable"
    input_type: Any = Any
    output_type: Any = Any

    async def ainvoke(self, input: I, /) -> O:
        raise NotImplementedError

    async def acollect(self, input: StreamReader[I], /) -> O:
        return await (await self._open_transform(input)).concat()

    async def _open_stream(self, input: I) -> StreamReader[O]:
        return StreamReader.from_value(await self.ainvoke(input))

    async def _open_transform(self, input: StreamReader[I]) -> StreamReader[O]:
        return await self._open_stream(await input.concat())

    def astream(self, input: I, /) -> StreamReader[O]:
        """Stream the output; nothing runs until the first chunk is read."""
        return deferred(self._open_stream(input))

    def atransform(self, input: StreamReader[I], /) -> StreamReader[O]:
        return deferred(self._open_transform(input))

    def invoke(self, input: I, /) -> O:
        """Blocking ``ainvoke`` for scripts; inside a running event loop use ``ainvoke``."""
        _require_no_loop("invoke", "ainvoke")
        return asyncio.run(self.ainvoke(input))

    def stream(self, input: I, /) -> Iterator[O]:
        """Blocking ``astream`` for scripts; inside a running event loop use ``astream``."""
        _require_no_loop("stream", "astream")
        return _iterate_blocking(lambda: self.astream(input))


def _require_no_loop(sync_name: str, async_name: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"{sync_name}() cannot run inside an event loop; await {async_name}() instead")


def _iterate_blocking(open_reader: Callable[[], StreamReader[O]]) -> Iterator[O]:
    with asyncio.Runner() as runner:
        reader = open_reader()
        try:
            while True:
                try:
                    yield runner.run(_next(reader))
                except StopAsyncIteration:
                    return
        finally:
            runner.run(reader.aclose())


async def _next(reader: StreamReader[O]) -> O:
    return await reader.__anext__()


class _DeferredSource(_Source[O]):
    """Runs a coroutine that opens a reader at the first read, then reads from that reader."""

    __slots__ = ("opener", "reader")

    def __init__(self, opener: Coroutine[Any, Any, StreamReader[O]]) -> None:
        self.opener: Coroutine[Any, Any, StreamReader[O]] | None = opener
        self.reader: StreamReader[O] | None = None

    async def next(self) -> O:
        if self.reader is None:
            assert self.opener is not None
            opener, self.opener = self.opener, None
            self.reader = await opener
        return await self.reader.__anext__()

    async def close(self) -> None:
        if self.opener is not None:
            self.opener.close()
            self.opener = None
        if self.reader is not None:
            await self.reader.aclose()


def deferred(opener: Coroutine[Any, Any, StreamReader[O]]) -> StreamReader[O]:
    return StreamReader(_DeferredSource(opener))


InvokeFn = Callable[[I], Awaitable[O]] | Callable[[I], O]
StreamFn = Callable[[I], Chunks[O]]
CollectFn = Callable[[StreamReader[I]], Awaitable[O]] | Callable[[StreamReader[I]], O]
TransformFn = Callable[[StreamReader[I]], Chunks[O]]


class Lambda(Runnable[I, O]):
    """A node made of plain functions: give any of invoke, stream, collect and transform.

    ``Lambda(fn)`` inspects ``fn``: a function or coroutine function is an invoke; a generator or async
    generator is a stream; one whose first parameter is annotated as a stream is a collect (or a transform
    when it also yields). Sync functions run inline; pass ``blocking=True`` for one that blocks (I/O, heavy
    CPU) so it runs in a worker thread and the event loop stays free.
    """

    def __init__(
        self,
        invoke: InvokeFn[I, O] | None = None,
        *,
        stream: StreamFn[I, O] | None = None,
        collect: CollectFn[I, O] | None = None,
        transform: TransformFn[I, O] | None = None,
        name: str | None = None,
        blocking: bool = False,
        input_type: Any = None,
        output_type: Any = None,
    ) -> None:
        if invoke is not None and stream is None and collect is None and transform is None:
            invoke, stream, collect, transform = _classify(invoke)
        given = [fn for fn in (invoke, stream, collect, transform) if fn is not None]
        if not given:
            raise GraphSetupError("Lambda needs at least one of invoke, stream, collect, transform")
        for fn in given:
            if not callable(fn):
                raise GraphSetupError(f"Lambda was given {fn!r}, which is not callable")
        first = given[0]
        self.name = name or str(getattr(first, "__name__", type(first).__name__))
        self.sync_invoke: Callable[[I], O] | None = None
        self._invoke: Callable[[I], Awaitable[O]] | None = None
        if invoke is not None:
            if is_async_callable(invoke):
                self._invoke = cast(Callable[[I], Awaitable[O]], invoke)
            elif blocking:
                sync_fn = cast(Callable[[I], O], invoke)
                self._invoke = lambda x: asyncio.to_thread(sync_fn, x)
            else:
                self.sync_invoke = cast(Callable[[I], O], invoke)
                self._invoke = _as_async(self.sync_invoke)
        self._stream = stream
        self._collect: Callable[[StreamReader[I]], Awaitable[O]] | None = None
        if collect is not None:
            if is_async_callable(collect):
                self._collect = cast(Callable[[StreamReader[I]], Awaitable[O]], collect)
            else:
                self._collect = _as_async(cast(Callable[[StreamReader[I]], O], collect))
        self._transform = transform
        self.input_type, self.output_type = _declared_types(invoke, stream, collect, transform, input_type, output_type)

    async def ainvoke(self, input: I, /) -> O:
        if self._invoke is not None:
            return await self._invoke(input)
        if self._stream is not None:
            return await _reader(self._stream(input)).concat()
        if self._collect is not None:
            return await self._collect(StreamReader.from_value(input))
        assert self._transform is not None
        return await _reader(self._transform(StreamReader.from_value(input))).concat()

    async def acollect(self, input: StreamReader[I], /) -> O:
        if self._collect is not None:
            return await self._collect(input)
        if self._transform is not None:
            return await _reader(self._transform(input)).concat()
        return await self.ainvoke(await input.concat())

    async def _open_stream(self, input: I) -> StreamReader[O]:
        if self._stream is not None:
            return _reader(self._stream(input))
        if self._transform is not None:
            return _reader(self._transform(StreamReader.from_value(input)))
        return StreamReader.from_value(await self.ainvoke(input))

    async def _open_transform(self, input: StreamReader[I]) -> StreamReader[O]:
        if self._transform is not None:
            return _reader(self._transform(input))
        if self._stream is not None:
            return _reader(self._stream(await input.concat()))
        if self._collect is not None:
            return StreamReader.from_value(await self._collect(input))
        return StreamReader.from_value(await self.ainvoke(await input.concat()))

    def __repr__(self) -> str:
        return f"Lambda({self.name})"


def _reader(chunks: Chunks[O]) -> StreamReader[O]:
    return StreamReader.from_iterable(chunks)


def _call_target(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function that runs when ``fn`` is called: itself, or a callable object's ``__call__``."""
    return fn if inspect.isroutine(fn) else type(fn).__call__


def is_async_callable(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(_call_target(fn))


def _as_async(fn: Callable[[Any], O]) -> Callable[[Any], Awaitable[O]]:
    async def call(x: Any) -> O:
        return fn(x)

    return call


def _is_generator(fn: Callable[..., Any]) -> bool:
    target = _call_target(fn)
    return inspect.isasyncgenfunction(target) or inspect.isgeneratorfunction(target)


def _classify(
    fn: Callable[..., Any],
) -> tuple[Any, Any, Any, Any]:
    """Sort one callable into invoke / stream / collect / transform by its shape and annotations."""
    first_type, _ = signature_types(fn)
    takes_stream = is_stream_type(first_type)
    if _is_generator(fn):
        return (None, None, None, fn) if takes_stream else (None, fn, None, None)
    return (None, None, fn, None) if takes_stream else (fn, None, None, None)


def _declared_types(
    invoke: Any, stream: Any, collect: Any, transform: Any, input_type: Any, output_type: Any
) -> tuple[Any, Any]:
    """Input and output types from the first annotated function, unless given explicitly."""
    found_in: Any = Any
    found_out: Any = Any
    for fn, stream_in, stream_out in (
        (invoke, False, False),
        (stream, False, True),
        (collect, True, False),
        (transform, True, True),
    ):
        if fn is None:
            continue
        first, ret = signature_types(fn)
        if found_in is Any:
            found_in = element_type(first) if stream_in else first
        if found_out is Any:
            found_out = element_type(ret) if stream_out else ret
    return (
        input_type if input_type is not None else found_in,
        output_type if output_type is not None else found_out,
    )


def as_runnable(node: Any, *, name: str | None = None) -> Runnable[Any, Any]:
    """Turn a component, a compiled graph or a callable into a Runnable; reject anything else clearly."""
    if isinstance(node, Runnable):
        return node
    from plait.compose.adapters import adapt_component

    adapted = adapt_component(node)
    if adapted is not None:
        return adapted
    if callable(node):
        return Lambda(node, name=name)
    raise GraphSetupError(
        f"cannot use {type(node).__name__} as a node: give a component, a compiled graph or a callable"
    )
