"""Callbacks see every run (graph and node, in all four modes) start once and end once, with its path,
run id and timing; failures mid-stream reach on_error, stopping is not an error, a broken handler cannot
break a run."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from plait.compose import (
    END,
    START,
    CallbackHandler,
    Graph,
    GraphInterrupted,
    GraphRunError,
    Lambda,
    MemoryCheckpointer,
    RunInfo,
    add_global_handler,
    interrupt,
    remove_global_handler,
)
from plait.schema import StreamReader

Event = tuple[str, tuple[str, ...], Any]
ENDS = {"end", "end_stream", "error"}


class Recorder(CallbackHandler):
    """Records (event, path, payload); stream payloads are the readers' chunks, read by ``settle``."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.infos: dict[tuple[str, ...], RunInfo] = {}
        self._readers: list[tuple[int, StreamReader[Any]]] = []

    def on_start(self, info: RunInfo, input: Any) -> None:
        self.events.append(("start", info.path, input))

    def on_end(self, info: RunInfo, output: Any) -> None:
        self._ended(info, ("end", info.path, output))

    def on_error(self, info: RunInfo, error: BaseException) -> None:
        self._ended(info, ("error", info.path, type(error).__name__))

    def on_start_stream(self, info: RunInfo, input: StreamReader[Any]) -> None:
        self._readers.append((len(self.events), input))
        self.events.append(("start_stream", info.path, None))

    def on_end_stream(self, info: RunInfo, output: StreamReader[Any]) -> None:
        self._readers.append((len(self.events), output))
        self._ended(info, ("end_stream", info.path, None))

    def _ended(self, info: RunInfo, event: Event) -> None:
        self.infos[info.path] = info
        self.events.append(event)

    async def settle(self) -> list[Event]:
        for index, reader in self._readers:
            kind, path, _ = self.events[index]
            self.events[index] = (kind, path, await asyncio.wait_for(reader.collect(), 5))
        self._readers.clear()
        return self.events

    def stopped(self, reason: str) -> set[tuple[str, ...]]:
        return {path for path, info in self.infos.items() if info.metadata.get(reason)}


def assert_once_each(events: list[Event]) -> None:
    """Every run that started ended exactly once, after its start, and nodes end before their graph."""
    starts = Counter(path for kind, path, _ in events if kind.startswith("start"))
    ends = Counter(path for kind, path, _ in events if kind in ENDS)
    assert starts == ends and set(starts.values()) == {1}, events
    order = [path for kind, path, _ in events if kind in ENDS]
    for position, path in enumerate(order):
        assert all(later[: len(path)] != path for later in order[position + 1 :]), f"{path} ended before a child"


def two_nodes() -> Graph[int, int]:
    graph: Graph[int, int] = Graph(name="two")
    graph.add_node("a", lambda x: x + 1).add_node("b", lambda x: x * 10)
    return graph.add_edge(START, "a").add_edge("a", "b").add_edge("b", END)


async def words(text: str) -> AsyncIterator[str]:
    for word in text.split():
        yield word + " "


async def upper_each(chunks: StreamReader[str]) -> AsyncIterator[str]:
    async for chunk in chunks:
        yield chunk.upper()


def chain(*nodes: Any) -> Graph[Any, Any]:
    graph: Graph[Any, Any] = Graph(name="chain")
    previous = START
    for index, node in enumerate(nodes):
        graph.add_node(f"n{index}", node).add_edge(previous, f"n{index}")
        previous = f"n{index}"
    return graph.add_edge(previous, END)


# -- the four modes -----------------------------------------------------------------------------------------
async def test_handlers_see_graph_and_nodes_in_order_with_run_id_and_timing() -> None:
    recorder = Recorder()
    assert await two_nodes().compile().ainvoke(1, run_id="r1", callbacks=[recorder]) == 20
    assert recorder.events == [
        ("start", (), 1),
        ("start", ("a",), 1),
        ("end", ("a",), 2),
        ("start", ("b",), 2),
        ("end", ("b",), 20),
        ("end", (), 20),
    ]
    infos = list(recorder.infos.values())
    assert {info.run_id for info in infos} == {"r1"}
    assert all(info.duration is not None and info.duration >= 0 for info in infos)
    assert [info.kind for info in infos] == ["node", "node", "graph"]


async def test_invoke_reports_values() -> None:
    recorder = Recorder()
    assert await chain(words, upper_each).compile().ainvoke("a b", callbacks=[recorder]) == "A B "
    assert recorder.events == [
        ("start", (), "a b"),
        ("start", ("n0",), "a b"),
        ("end", ("n0",), "a b "),
        ("start", ("n1",), "a b "),
        ("end", ("n1",), "A B "),
        ("end", (), "A B "),
    ]


async def test_stream_ends_each_run_when_its_output_is_read_out() -> None:
    recorder = Recorder()
    reader = chain(words, upper_each).compile().astream("a b", callbacks=[recorder])
    assert await reader.__anext__() == "A "
    assert [kind for kind, _, _ in recorder.events] == ["start", "start", "start_stream"]  # nothing ended yet
    assert await reader.collect() == ["B "]
    assert await recorder.settle() == [
        ("start", (), "a b"),
        ("start", ("n0",), "a b"),
        ("start_stream", ("n1",), ["a ", "b "]),
        ("end_stream", ("n0",), ["a ", "b "]),
        ("end_stream", ("n1",), ["A ", "B "]),
        ("end_stream", (), ["A ", "B "]),
    ]


async def test_transform_reports_the_input_chunks_as_the_graph_reads_them() -> None:
    recorder = Recorder()
    compiled = chain(upper_each).compile()
    out = await compiled.atransform(StreamReader.from_iterable(["x", "y"]), callbacks=[recorder]).collect()
    assert out == ["X", "Y"]
    assert await recorder.settle() == [
        ("start_stream", (), ["x", "y"]),
        ("start_stream", ("n0",), ["x", "y"]),
        ("end_stream", ("n0",), ["X", "Y"]),
        ("end_stream", (), ["X", "Y"]),
    ]


async def test_collect_ends_the_graph_with_the_value_it_returns() -> None:
    recorder = Recorder()
    compiled = chain(upper_each).compile()
    assert await compiled.acollect(StreamReader.from_iterable(["x", "y"]), callbacks=[recorder]) == "XY"
    events = await recorder.settle()
    assert events[0] == ("start_stream", (), ["x", "y"])
    assert events[-1] == ("end", (), "XY")
    assert_once_each(events)


async def test_a_one_chunk_stream_of_a_value_is_reported_as_a_value() -> None:
    recorder = Recorder()
    assert await two_nodes().compile().astream(1, callbacks=[recorder]).collect() == [20]
    assert recorder.events == [
        ("start", (), 1),
        ("start", ("a",), 1),
        ("end", ("a",), 2),
        ("start", ("b",), 2),
        ("end", ("b",), 20),
        ("end", (), 20),
    ]


# -- errors ---------------------------------------------------------------------------------------------
async def test_errors_reach_on_error_of_the_node_and_the_graph() -> None:
    def fail(x: int) -> int:
        raise KeyError("x")

    recorder = Recorder()
    with pytest.raises(GraphRunError):
        await chain(fail).compile().ainvoke(1, callbacks=[recorder])
    assert recorder.events == [
        ("start", (), 1),
        ("start", ("n0",), 1),
        ("error", ("n0",), "GraphRunError"),
        ("error", (), "GraphRunError"),
    ]


async def broken(text: str) -> AsyncIterator[str]:
    yield "ok"
    raise ValueError("mid-stream")


@pytest.mark.parametrize("mode", ["stream", "transform", "collect"])
async def test_an_error_raised_while_the_output_is_read_reaches_every_run_it_passes(mode: str) -> None:
    recorder = Recorder()
    compiled = chain(broken, upper_each).compile()
    with pytest.raises(GraphRunError, match="mid-stream") as caught:
        if mode == "stream":
            await compiled.astream("x", callbacks=[recorder]).collect()
        elif mode == "transform":
            await compiled.atransform(StreamReader.from_iterable(["x"]), callbacks=[recorder]).collect()
        else:
            await compiled.acollect(StreamReader.from_iterable(["x"]), callbacks=[recorder])
    assert caught.value.path == ("n0",)
    events = await recorder.settle()
    assert [event for event in events if event[0] in ENDS] == [
        ("error", ("n0",), "GraphRunError"),
        ("error", ("n1",), "GraphRunError"),
        ("error", (), "GraphRunError"),
    ]
    assert_once_each(events)


async def test_a_failing_node_cancels_its_sibling_which_is_not_an_error() -> None:
    started = asyncio.Event()

    async def slow(x: int) -> int:
        started.set()
        await asyncio.sleep(10)
        return x

    async def fail(x: int) -> int:
        await started.wait()
        raise ValueError("boom")

    graph: Graph[int, Any] = Graph()
    graph.add_node("slow", slow, output_key="s").add_node("fail", fail, output_key="f")
    graph.add_edge(START, "slow").add_edge(START, "fail").add_edge("slow", END).add_edge("fail", END)
    recorder = Recorder()
    with pytest.raises(GraphRunError, match="boom"):
        await graph.compile().ainvoke(1, callbacks=[recorder])
    assert ("end", ("slow",), None) in recorder.events
    assert recorder.stopped("cancelled") == {("slow",)}
    assert recorder.events[-1] == ("error", (), "GraphRunError")
    assert_once_each(recorder.events)


# -- stopping early -------------------------------------------------------------------------------------
async def test_closing_the_stream_early_ends_every_run_as_cancelled_with_what_was_read() -> None:
    recorder = Recorder()
    reader = chain(words, upper_each).compile().astream("a b c", callbacks=[recorder])
    assert await reader.__anext__() == "A "
    await reader.aclose()
    events = await recorder.settle()
    assert events[-1] == ("end_stream", (), ["A "])
    assert recorder.stopped("cancelled") == {("n0",), ("n1",), ()}
    assert not [event for event in events if event[0] == "error"]
    assert_once_each(events)


async def test_a_stream_dropped_without_closing_ends_as_cancelled() -> None:
    recorder = Recorder()
    async for _ in chain(words, upper_each).compile().astream("a b c", callbacks=[recorder]):
        break  # the reader is dropped here, never closed
    gc.collect()
    assert recorder.stopped("cancelled") == {("n0",), ("n1",), ()}
    assert_once_each(await recorder.settle())


async def test_cancelling_the_reading_task_ends_every_run_as_cancelled_not_failed() -> None:
    reading = asyncio.Event()

    async def hangs(text: str) -> AsyncIterator[str]:
        yield "first"
        reading.set()
        await asyncio.sleep(10)
        yield "never"

    recorder = Recorder()
    reader = chain(hangs, upper_each).compile().astream("x", callbacks=[recorder])

    async def consume() -> list[str]:
        return await reader.collect()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(reading.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    events = await recorder.settle()
    assert events[-1] == ("end_stream", (), ["FIRST"])
    assert recorder.stopped("cancelled") == {("n0",), ("n1",), ()}
    assert not [event for event in events if event[0] == "error"]
    assert_once_each(events)


async def test_cancelling_an_invoke_ends_the_node_and_the_graph_as_cancelled() -> None:
    running = asyncio.Event()

    async def hangs(x: int) -> int:
        running.set()
        await asyncio.sleep(10)
        return x

    recorder = Recorder()
    task = asyncio.create_task(chain(hangs).compile().ainvoke(1, callbacks=[recorder]))
    await asyncio.wait_for(running.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert recorder.events == [("start", (), 1), ("start", ("n0",), 1), ("end", ("n0",), None), ("end", (), None)]
    assert recorder.stopped("cancelled") == {("n0",), ()}


async def test_handlers_that_never_read_their_readers_do_not_keep_the_producer_running() -> None:
    closed = asyncio.Event()

    async def endless(text: str) -> AsyncIterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    class Hoarder(CallbackHandler):
        def __init__(self) -> None:
            self.kept: list[StreamReader[Any]] = []

        def on_start_stream(self, info: RunInfo, input: StreamReader[Any]) -> None:
            self.kept.append(input)

        def on_end_stream(self, info: RunInfo, output: StreamReader[Any]) -> None:
            self.kept.append(output)

    hoarder = Hoarder()
    reader = chain(endless, Lambda(transform=lambda s: s)).compile().astream("x", callbacks=[hoarder])
    assert await reader.__anext__() == 0
    await reader.aclose()
    await asyncio.wait_for(closed.wait(), 5)


async def test_an_interrupted_run_ends_as_interrupted_not_failed() -> None:
    def ask(x: int) -> int:
        return int(interrupt("how many?"))

    recorder = Recorder()
    compiled = chain(ask).compile(checkpointer=MemoryCheckpointer())
    with pytest.raises(GraphInterrupted):
        await compiled.ainvoke(1, run_id="r", callbacks=[recorder])
    assert recorder.events[-2:] == [("end", ("n0",), None), ("end", (), None)]
    assert recorder.stopped("interrupted") == {("n0",), ()}
    assert await compiled.aresume("r", 3, callbacks=[recorder]) == 3
    assert recorder.events[-1] == ("end", (), 3)


# -- nesting, global handlers, broken handlers ----------------------------------------------------------
def nested() -> Graph[str, str]:
    outer: Graph[str, str] = Graph(name="outer")
    outer.add_node("sub", chain(words, upper_each).compile()).add_edge(START, "sub").add_edge("sub", END)
    return outer


async def test_subgraph_nodes_report_their_full_path() -> None:
    outer: Graph[int, int] = Graph()
    outer.add_node("sub", two_nodes().compile()).add_edge(START, "sub").add_edge("sub", END)
    recorder = Recorder()
    await outer.compile().ainvoke(1, callbacks=[recorder])
    paths = [path for kind, path, _ in recorder.events if kind == "end"]
    assert paths == [("sub", "a"), ("sub", "b"), ("sub",), ()]


async def test_a_streamed_subgraph_reports_both_levels_once() -> None:
    recorder = Recorder()
    assert await nested().compile().astream("a b", callbacks=[recorder]).collect() == ["A ", "B "]
    events = await recorder.settle()
    assert [(kind, path) for kind, path, _ in events if kind in ENDS] == [
        ("end_stream", ("sub", "n0")),
        ("end_stream", ("sub", "n1")),
        ("end_stream", ("sub",)),
        ("end_stream", ()),
    ]
    assert_once_each(events)


async def test_an_error_inside_a_streamed_subgraph_reaches_both_levels() -> None:
    outer: Graph[str, str] = Graph()
    outer.add_node("sub", chain(broken, upper_each).compile()).add_edge(START, "sub").add_edge("sub", END)
    recorder = Recorder()
    with pytest.raises(GraphRunError, match="mid-stream"):
        await outer.compile().astream("x", callbacks=[recorder]).collect()
    events = await recorder.settle()
    assert [path for kind, path, _ in events if kind == "error"] == [("sub", "n0"), ("sub", "n1"), ("sub",), ()]
    assert_once_each(events)


async def test_global_handlers_apply_to_every_run() -> None:
    recorder = Recorder()
    add_global_handler(recorder)
    try:
        await two_nodes().compile().ainvoke(1)
    finally:
        remove_global_handler(recorder)
    await two_nodes().compile().ainvoke(1)
    assert len(recorder.events) == 6


async def test_a_failing_handler_is_logged_and_the_run_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(CallbackHandler):
        def on_start(self, info: RunInfo, input: Any) -> None:
            raise RuntimeError("handler bug")

    assert await two_nodes().compile().ainvoke(1, callbacks=[Broken()]) == 20
    assert "Broken.on_start failed" in caplog.text
