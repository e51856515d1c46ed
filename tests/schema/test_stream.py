"""StreamReader: making, reading, copying, mapping and merging streams, and pipes with back-pressure.

Ordering is proven with tasks and events. ``settle()`` only hands the loop to the other ready tasks; no
test depends on how long anything takes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from plait.schema import ConcatError, StreamClosedError, StreamReader, StreamWriter, as_stream, merge, pipe


async def settle() -> None:
    """Let every ready task run until it blocks."""
    for _ in range(20):
        await asyncio.sleep(0)


def open_pipe(capacity: int = 16) -> tuple[StreamReader[Any], StreamWriter[Any]]:
    return pipe(capacity)


class Probe:
    """An async generator source that records how far it got and whether it was closed."""

    def __init__(self, *chunks: Any, fail_with: BaseException | None = None) -> None:
        self.chunks = chunks
        self.fail_with = fail_with
        self.pulled = 0
        self.closed = False
        self.release = asyncio.Event()

    async def items(self) -> AsyncIterator[Any]:
        try:
            for chunk in self.chunks:
                self.pulled += 1
                yield chunk
            if self.fail_with is not None:
                raise self.fail_with
        finally:
            self.closed = True

    async def blocking(self) -> AsyncIterator[Any]:
        """Yields its chunks, then waits for ``release`` before ending."""
        try:
            for chunk in self.chunks:
                self.pulled += 1
                yield chunk
            await self.release.wait()
        finally:
            self.closed = True

    def reader(self) -> StreamReader[Any]:
        return StreamReader.from_iterable(self.items())


# -- making and reading ---------------------------------------------------------------------------------


async def test_from_value_is_a_stream_of_one_chunk() -> None:
    assert await StreamReader.from_value({"a": 1}).collect() == [{"a": 1}]


async def test_from_iterable_of_a_sync_iterable() -> None:
    assert await StreamReader.from_iterable(iter(["a", "b", "c"])).collect() == ["a", "b", "c"]


async def test_from_iterable_of_an_async_iterable() -> None:
    probe = Probe(1, 2, 3)
    assert await probe.reader().collect() == [1, 2, 3]
    assert probe.closed


async def test_from_iterable_of_a_reader_is_that_reader() -> None:
    reader = StreamReader.from_iterable([1])
    assert StreamReader.from_iterable(reader) is reader


async def test_as_stream_wraps_values_and_passes_readers_through() -> None:
    reader = StreamReader.from_iterable(["x"])
    assert as_stream(reader) is reader
    assert await as_stream("value").collect() == ["value"]


async def test_a_reader_is_read_once() -> None:
    reader = StreamReader.from_iterable([1, 2])
    assert await reader.collect() == [1, 2]
    assert await reader.collect() == []


async def test_reading_past_the_end_keeps_stopping() -> None:
    reader = StreamReader.from_value("only")
    assert await anext(reader) == "only"
    for _ in range(2):
        with pytest.raises(StopAsyncIteration):
            await anext(reader)


async def test_an_error_from_the_source_reaches_the_reader_and_closes_it() -> None:
    probe = Probe("a", fail_with=ValueError("broken source"))
    reader = probe.reader()
    assert await anext(reader) == "a"
    with pytest.raises(ValueError, match="broken source"):
        await anext(reader)
    assert probe.closed
    assert await reader.collect() == []


async def test_async_with_closes_the_reader_and_its_producer() -> None:
    probe = Probe(1, 2, 3)
    async with probe.reader() as reader:
        assert await anext(reader) == 1
        assert not probe.closed
    assert probe.closed
    assert probe.pulled == 1
    with pytest.raises(StopAsyncIteration):
        await anext(reader)


async def test_aclose_twice_is_harmless() -> None:
    probe = Probe(1, 2)
    reader = probe.reader()
    await anext(reader)
    await reader.aclose()
    await reader.aclose()
    assert probe.closed


# -- concat ---------------------------------------------------------------------------------------------


async def test_concat_of_a_one_value_reader_is_that_value_itself() -> None:
    value = ["a", "list", "not", "joined"]
    assert await StreamReader.from_value(value).concat() is value


async def test_concat_joins_the_chunks_by_type() -> None:
    assert await StreamReader.from_iterable(["Hel", "lo"]).concat() == "Hello"
    assert await StreamReader.from_iterable([{"a": "x"}, {"a": "y", "b": [1]}]).concat() == {"a": "xy", "b": [1]}


async def test_concat_of_an_empty_stream_is_an_error() -> None:
    with pytest.raises(ConcatError):
        await StreamReader.from_iterable([]).concat()


async def test_concat_of_a_value_reader_that_was_read_has_no_value() -> None:
    reader = StreamReader.from_value("x")
    await anext(reader)
    with pytest.raises(ConcatError):
        await reader.concat()


# -- map ------------------------------------------------------------------------------------------------


def double(x: int) -> int:
    return x * 2


async def double_async(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2


def double_via_awaitable(x: int) -> Awaitable[int]:
    """Not a coroutine function, but returns an awaitable: map must await it too."""
    return double_async(x)


MAPPERS = pytest.mark.parametrize(
    "fn", [double, double_async, double_via_awaitable], ids=["sync", "async", "awaitable"]
)


@MAPPERS
async def test_map_over_a_stream(fn: Callable[[int], Any]) -> None:
    assert await StreamReader.from_iterable([1, 2, 3]).map(fn).collect() == [2, 4, 6]


@MAPPERS
async def test_map_over_an_async_stream(fn: Callable[[int], Any]) -> None:
    assert await Probe(1, 2, 3).reader().map(fn).collect() == [2, 4, 6]


@MAPPERS
async def test_map_over_a_one_value_stream(fn: Callable[[int], Any]) -> None:
    assert await StreamReader.from_value(21).map(fn).collect() == [42]


async def test_map_chains() -> None:
    mapped = StreamReader.from_iterable(["a", "b"]).map(str.upper).map(lambda s: s + "!")
    assert await mapped.collect() == ["A!", "B!"]


async def test_closing_a_mapped_reader_closes_the_source() -> None:
    probe = Probe(1, 2, 3)
    mapped = probe.reader().map(double)
    assert await anext(mapped) == 2
    await mapped.aclose()
    assert probe.closed
    assert probe.pulled == 1


async def test_an_error_in_the_map_function_reaches_the_reader_and_closes_the_source() -> None:
    probe = Probe(1, 0, 2)
    mapped = probe.reader().map(lambda x: 10 // x)
    assert await anext(mapped) == 10
    with pytest.raises(ZeroDivisionError):
        await anext(mapped)
    assert probe.closed


# -- copy -----------------------------------------------------------------------------------------------


def test_copy_needs_at_least_one_copy() -> None:
    with pytest.raises(ValueError, match="n >= 1"):
        StreamReader.from_value(1).copy(0)


def test_one_copy_is_the_reader_itself() -> None:
    reader = StreamReader.from_iterable([1])
    assert reader.copy(1) == [reader]


async def test_copies_of_a_one_value_reader_each_give_the_value() -> None:
    copies = StreamReader.from_value("v").copy(3)
    assert [await copy.concat() for copy in copies] == ["v", "v", "v"]


async def test_copies_read_at_different_paces_all_see_every_chunk() -> None:
    reader, writer = open_pipe(capacity=10)
    fast, slow = reader.copy(2)
    for i in range(3):
        await writer.send(i)
    assert [await anext(fast) for _ in range(3)] == [0, 1, 2]
    await writer.send(3)
    writer.close()
    assert await fast.collect() == [3]
    assert await slow.collect() == [0, 1, 2, 3]


async def test_copies_read_concurrently_pull_the_source_once_per_chunk() -> None:
    probe = Probe(*range(5))
    copies = probe.reader().copy(3)
    results = await asyncio.gather(*(copy.collect() for copy in copies))
    assert results == [list(range(5))] * 3
    assert probe.pulled == 5


async def test_an_error_in_the_source_reaches_every_copy_after_the_chunks_before_it() -> None:
    probe = Probe("a", "b", fail_with=RuntimeError("source died"))
    first, second = probe.reader().copy(2)
    for copy in (first, second):
        assert await anext(copy) == "a"
        assert await anext(copy) == "b"
        with pytest.raises(RuntimeError, match="source died"):
            await anext(copy)


async def test_the_source_closes_only_once_every_copy_is_closed() -> None:
    probe = Probe(1, 2, 3)
    copies = probe.reader().copy(3)
    assert await anext(copies[0]) == 1
    for copy in copies[:-1]:
        await copy.aclose()
        assert not probe.closed
    await copies[-1].aclose()
    assert probe.closed
    assert probe.pulled == 1


async def test_a_copy_read_to_the_end_counts_as_closed() -> None:
    probe = Probe(1, 2)
    first, second = probe.reader().copy(2)
    assert await first.collect() == [1, 2]
    await second.aclose()
    assert probe.closed


# -- merge ----------------------------------------------------------------------------------------------


async def test_merge_interleaves_chunks_in_arrival_order() -> None:
    left, left_writer = open_pipe()
    right, right_writer = open_pipe()
    merged = merge(left, right)
    for writer, chunk in [(left_writer, "L1"), (right_writer, "R1"), (right_writer, "R2"), (left_writer, "L2")]:
        await writer.send(chunk)
        assert await anext(merged) == chunk
    left_writer.close()
    right_writer.close()
    assert await merged.collect() == []


async def test_merge_ends_when_every_reader_ends() -> None:
    merged = StreamReader.merge(StreamReader.from_iterable([1, 2]), StreamReader.from_iterable([3]), Probe(4).reader())
    assert sorted(await merged.collect()) == [1, 2, 3, 4]


def test_merging_one_reader_is_that_reader() -> None:
    reader = StreamReader.from_iterable([1])
    assert merge(reader) is reader


async def test_merging_no_readers_is_an_empty_stream() -> None:
    assert await merge().collect() == []


async def test_an_error_in_one_reader_ends_the_merged_stream_and_closes_the_others() -> None:
    failing, failing_writer = open_pipe()
    healthy, healthy_writer = open_pipe()
    merged = merge(failing, healthy)
    await failing_writer.send("before")
    assert await anext(merged) == "before"
    failing_writer.close(KeyError("boom"))
    with pytest.raises(KeyError, match="boom"):
        await anext(merged)
    assert healthy_writer.reader_closed
    with pytest.raises(StreamClosedError):
        await healthy_writer.send("too late")


async def test_closing_the_merged_reader_cancels_the_pumps_and_closes_every_reader() -> None:
    waiting = [Probe("a"), Probe("b")]
    piped, writer = open_pipe()
    merged = merge(*(StreamReader.from_iterable(probe.blocking()) for probe in waiting), piped)
    assert sorted([await anext(merged), await anext(merged)]) == ["a", "b"]
    await settle()  # every pump is now blocked inside its source
    await merged.aclose()
    assert all(probe.closed for probe in waiting)
    assert writer.reader_closed
    with pytest.raises(StreamClosedError):
        await writer.send("nobody listens")


# -- pipe -----------------------------------------------------------------------------------------------


def test_pipe_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        pipe(0)


async def test_pipe_delivers_chunks_in_order_then_ends_on_close() -> None:
    reader, writer = open_pipe()
    for i in range(3):
        await writer.send(i)
    writer.close()
    assert await reader.collect() == [0, 1, 2]


async def test_the_writer_blocks_while_capacity_chunks_are_unread() -> None:
    reader, writer = open_pipe(capacity=2)
    sent: list[int] = []

    async def produce() -> None:
        for i in range(4):
            await writer.send(i)
            sent.append(i)
        writer.close()

    producer = asyncio.create_task(produce())
    await settle()
    assert sent == [0, 1]
    assert not producer.done()

    assert await anext(reader) == 0
    await settle()
    assert sent == [0, 1, 2]
    assert not producer.done()

    assert await reader.collect() == [1, 2, 3]
    await producer
    assert sent == [0, 1, 2, 3]


async def test_a_reader_waiting_on_an_empty_pipe_wakes_on_send() -> None:
    reader, writer = open_pipe()
    pending = asyncio.create_task(anext(reader))
    await settle()
    assert not pending.done()
    await writer.send("hello")
    assert await pending == "hello"


async def test_closing_the_writer_with_an_error_delivers_it_after_the_sent_chunks() -> None:
    reader, writer = open_pipe()
    await writer.send("a")
    await writer.send("b")
    writer.close(ConnectionError("upstream lost"))
    assert await anext(reader) == "a"
    assert await anext(reader) == "b"
    with pytest.raises(ConnectionError, match="upstream lost"):
        await anext(reader)


async def test_closing_the_writer_wakes_a_waiting_reader() -> None:
    reader, writer = open_pipe()
    pending = asyncio.create_task(reader.collect())
    await settle()
    assert not pending.done()
    writer.close()
    assert await pending == []


async def test_sending_after_the_writer_closed_is_an_error() -> None:
    _, writer = open_pipe()
    writer.close()
    with pytest.raises(StreamClosedError, match="writer"):
        await writer.send("x")


async def test_after_the_reader_closes_the_next_send_raises() -> None:
    reader, writer = open_pipe()
    await writer.send("read")
    assert await anext(reader) == "read"
    assert not writer.reader_closed
    await reader.aclose()
    assert writer.reader_closed
    with pytest.raises(StreamClosedError, match="reader"):
        await writer.send("unread")


async def test_closing_the_reader_wakes_a_writer_blocked_on_a_full_pipe() -> None:
    reader, writer = open_pipe(capacity=1)
    await writer.send(0)
    blocked = asyncio.create_task(writer.send(1))
    await settle()
    assert not blocked.done()
    await reader.aclose()
    with pytest.raises(StreamClosedError):
        await blocked


async def test_a_producer_stops_when_its_reader_goes_away() -> None:
    reader, writer = open_pipe(capacity=1)
    sent: list[int] = []

    async def produce() -> None:
        i = 0
        try:
            while True:
                await writer.send(i)
                sent.append(i)
                i += 1
        except StreamClosedError:
            return

    producer = asyncio.create_task(produce())
    assert [await anext(reader) for _ in range(3)] == [0, 1, 2]
    await reader.aclose()
    await producer
    assert sent[:3] == [0, 1, 2]
    assert len(sent) <= 4
