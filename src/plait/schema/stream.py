"""StreamReader: the one stream type of Plait.

A StreamReader can only be read once. If several consumers need the same stream it must be copied before
reading (``copy(n)``); the copies share one buffer and pull from the source at the pace of the fastest.
Closing a reader stops its producer: an async generator is closed, a pipe's writer gets
``StreamClosedError`` on its next send, and a copied source closes once every copy is closed.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar, cast

from plait.schema.concat import concat
from plait.schema.errors import StreamClosedError

T = TypeVar("T")
U = TypeVar("U")


class _Source(Generic[T]):
    """Where a reader's chunks come from. ``next`` raises StopAsyncIteration at the end."""

    __slots__ = ()

    async def next(self) -> T:
        raise NotImplementedError

    async def close(self) -> None:
        return None


class _ValueSource(_Source[T]):
    __slots__ = ("used", "value")

    def __init__(self, value: T) -> None:
        self.value = value
        self.used = False

    async def next(self) -> T:
        if self.used:
            raise StopAsyncIteration
        self.used = True
        return self.value


class _IterableSource(_Source[T]):
    __slots__ = ("iterator",)

    def __init__(self, items: Iterable[T]) -> None:
        self.iterator = iter(items)

    async def next(self) -> T:
        try:
            return next(self.iterator)
        except StopIteration:
            raise StopAsyncIteration from None


class _AsyncSource(_Source[T]):
    __slots__ = ("iterator",)

    def __init__(self, iterable: AsyncIterable[T]) -> None:
        self.iterator = aiter(iterable)

    async def next(self) -> T:
        return await anext(self.iterator)

    async def close(self) -> None:
        aclose = getattr(self.iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class _MapSource(_Source[U]):
    __slots__ = ("fn", "inner")

    def __init__(self, inner: StreamReader[Any], fn: Callable[[Any], Any]) -> None:
        self.inner = inner
        self.fn = fn

    async def next(self) -> U:
        value = self.fn(await self.inner.__anext__())
        if inspect.isawaitable(value):
            value = await value
        return cast(U, value)

    async def close(self) -> None:
        await self.inner.aclose()


class _Channel(Generic[T]):
    """A bounded queue between one writer and one reader, with back-pressure and close from either end."""

    __slots__ = ("buffer", "capacity", "done", "error", "getter", "putters", "reader_closed")

    def __init__(self, capacity: int) -> None:
        self.buffer: deque[T] = deque()
        self.capacity = capacity
        self.done = False
        self.error: BaseException | None = None
        self.reader_closed = False
        self.getter: asyncio.Future[None] | None = None
        self.putters: deque[asyncio.Future[None]] = deque()

    async def put(self, item: T) -> None:
        while True:
            if self.reader_closed:
                raise StreamClosedError("the stream's reader was closed")
            if self.done:
                raise StreamClosedError("the stream's writer was already closed")
            if len(self.buffer) < self.capacity:
                break
            waiter = asyncio.get_running_loop().create_future()
            self.putters.append(waiter)
            await waiter
        self.buffer.append(item)
        self._wake_getter()

    async def get(self) -> T:
        while not self.buffer:
            if self.done:
                if self.error is not None:
                    raise self.error
                raise StopAsyncIteration
            waiter = asyncio.get_running_loop().create_future()
            self.getter = waiter
            await waiter
        item = self.buffer.popleft()
        if self.putters:
            _wake(self.putters.popleft())
        return item

    def finish(self, error: BaseException | None = None) -> None:
        if not self.done:
            self.done = True
            self.error = error
            self._wake_getter()

    def close_reader(self) -> None:
        self.reader_closed = True
        self.buffer.clear()
        while self.putters:
            _wake(self.putters.popleft())

    def _wake_getter(self) -> None:
        if self.getter is not None:
            _wake(self.getter)
            self.getter = None


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _ChannelSource(_Source[T]):
    __slots__ = ("channel", "on_close")

    def __init__(self, channel: _Channel[T], on_close: Callable[[], Awaitable[None]] | None = None) -> None:
        self.channel = channel
        self.on_close = on_close

    async def next(self) -> T:
        return await self.channel.get()

    async def close(self) -> None:
        self.channel.close_reader()
        if self.on_close is not None:
            await self.on_close()


class StreamWriter(Generic[T]):
    """The producing end of ``pipe()``. ``send`` waits while the buffer is full."""

    __slots__ = ("_channel",)

    def __init__(self, channel: _Channel[T]) -> None:
        self._channel = channel

    async def send(self, chunk: T) -> None:
        """Queue a chunk; raises ``StreamClosedError`` once the reader is gone, so the producer stops."""
        await self._channel.put(chunk)

    def close(self, error: BaseException | None = None) -> None:
        """End the stream; an error is raised to the reader after the chunks already sent."""
        self._channel.finish(error)

    @property
    def reader_closed(self) -> bool:
        return self._channel.reader_closed


class _Shared(Generic[T]):
    """The buffer behind ``copy(n)``: a linked list of chunks that each copy walks at its own pace."""

    __slots__ = ("finished", "lock", "open_copies", "source", "tail")

    def __init__(self, source: StreamReader[T], copies: int) -> None:
        self.source = source
        self.tail: list[Any] = [None, None]  # [chunk, next-node]; the tail node is empty
        self.lock = asyncio.Lock()
        self.open_copies = copies
        self.finished: BaseException | None = None


class _CopySource(_Source[T]):
    __slots__ = ("closed", "node", "shared")

    def __init__(self, shared: _Shared[T]) -> None:
        self.shared = shared
        self.node = shared.tail
        self.closed = False

    async def next(self) -> T:
        node = self.node
        if node[1] is None:
            shared = self.shared
            async with shared.lock:
                if node[1] is None:
                    if shared.finished is not None:
                        raise _replay(shared.finished)
                    try:
                        chunk = await shared.source.__anext__()
                    except asyncio.CancelledError:
                        raise  # this copy's reader was cancelled; the source may still be read by the others
                    except BaseException as exc:
                        shared.finished = exc
                        raise _replay(exc) from None
                    node[0] = chunk
                    node[1] = shared.tail = [None, None]
        self.node = node[1]
        return cast(T, node[0])

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.shared.open_copies -= 1
        if self.shared.open_copies == 0:
            await self.shared.source.aclose()


def _replay(exc: BaseException) -> BaseException:
    if isinstance(exc, StopAsyncIteration):
        return StopAsyncIteration()
    return exc


class StreamReader(Generic[T]):
    """An async iterator of chunks that can be copied, merged, mapped and concatenated."""

    __slots__ = ("__weakref__", "_closed", "_source")

    def __init__(self, source: _Source[T]) -> None:
        self._source = source
        self._closed = False

    # -- making readers -------------------------------------------------------------------------------
    @classmethod
    def from_value(cls, value: T) -> StreamReader[T]:
        """A stream of one chunk; concatenating it costs nothing."""
        return cls(_ValueSource(value))

    @classmethod
    def from_iterable(cls, items: Iterable[T] | AsyncIterable[T]) -> StreamReader[T]:
        if isinstance(items, StreamReader):
            return items
        if isinstance(items, AsyncIterable):
            return cls(_AsyncSource(items))
        return cls(_IterableSource(items))

    # -- reading --------------------------------------------------------------------------------------
    def __aiter__(self) -> StreamReader[T]:
        return self

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        try:
            return await self._source.next()
        except StopAsyncIteration:
            await self.aclose()
            raise
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Stop reading; the producer is told to stop. Closing twice is harmless."""
        if not self._closed:
            self._closed = True
            await self._source.close()

    async def __aenter__(self) -> StreamReader[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def collect(self) -> list[T]:
        """Read every chunk into a list."""
        return [chunk async for chunk in self]

    async def concat(self) -> T:
        """Read every chunk and join them into one value by their type's concat rule."""
        source = self._source
        if isinstance(source, _ValueSource) and not source.used and not self._closed:
            self._closed = True
            return cast(T, source.value)
        chunks: list[T] = await self.collect()
        return concat(chunks)

    # -- deriving readers -----------------------------------------------------------------------------
    def copy(self, n: int) -> list[StreamReader[T]]:
        """Split into ``n`` independent readers; this reader must not be read afterwards."""
        if n < 1:
            raise ValueError("copy needs n >= 1")
        if n == 1:
            return [self]
        source = self._source
        if isinstance(source, _ValueSource) and not source.used:
            return [StreamReader(_ValueSource(source.value)) for _ in range(n)]
        shared = _Shared(self, n)
        return [StreamReader(_CopySource(shared)) for _ in range(n)]

    def map(self, fn: Callable[[T], U] | Callable[[T], Awaitable[U]]) -> StreamReader[U]:
        """A reader of ``fn(chunk)`` for each chunk, computed as chunks are read; ``fn`` may be async."""
        return StreamReader(_MapSource(self, fn))

    @staticmethod
    def merge(*readers: StreamReader[T]) -> StreamReader[T]:
        """Interleave several readers in arrival order; an error in one ends the merged stream."""
        return merge(*readers)


def take_value(reader: StreamReader[T]) -> tuple[bool, T | None]:
    """``(True, value)`` and the reader consumed, when it is an unread one-chunk stream made from a value;
    ``(False, None)`` otherwise. Lets an engine skip the stream machinery for plain values."""
    source = reader._source
    if type(source) is _ValueSource and not source.used and not reader._closed:
        reader._closed = True
        return True, cast(T, source.value)
    return False, None


def pipe(capacity: int = 16) -> tuple[StreamReader[T], StreamWriter[T]]:
    """A bounded channel: the writer waits when ``capacity`` chunks are unread (back-pressure)."""
    if capacity < 1:
        raise ValueError("pipe capacity must be at least 1")
    channel: _Channel[T] = _Channel(capacity)
    return StreamReader(_ChannelSource(channel)), StreamWriter(channel)


def merge(*readers: StreamReader[T]) -> StreamReader[T]:
    """Interleave readers as their chunks arrive. Pumping starts at the first read."""
    if len(readers) == 1:
        return readers[0]
    return StreamReader(_MergeSource(readers))


class _MergeSource(_Source[T]):
    __slots__ = ("channel", "readers", "running", "tasks")

    def __init__(self, readers: tuple[StreamReader[T], ...]) -> None:
        self.readers = readers
        self.channel: _Channel[T] = _Channel(max(1, len(readers)))
        self.tasks: list[asyncio.Task[None]] | None = None
        self.running = len(readers)

    async def next(self) -> T:
        if self.tasks is None:
            self.tasks = [asyncio.create_task(self._pump(reader)) for reader in self.readers]
            if not self.tasks:
                self.channel.finish()
        return await self.channel.get()

    async def _pump(self, reader: StreamReader[T]) -> None:
        try:
            async for chunk in reader:
                await self.channel.put(chunk)
        except StreamClosedError:
            await reader.aclose()
            return
        except Exception as exc:
            self.channel.finish(exc)
            return
        self.running -= 1
        if self.running == 0:
            self.channel.finish()

    async def close(self) -> None:
        self.channel.close_reader()
        # Stop the pumps before closing their readers: an async generator a pump is inside of cannot be
        # closed from here ("asynchronous generator is already running").
        for task in self.tasks or ():
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        for reader in self.readers:
            await reader.aclose()


def as_stream(value: T | StreamReader[T]) -> StreamReader[T]:
    """Wrap a value as a one-chunk stream; a reader passes through."""
    if isinstance(value, StreamReader):
        return value
    return StreamReader.from_value(value)
