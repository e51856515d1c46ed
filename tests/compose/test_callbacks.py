"""Callbacks see every node with its path, run id and timing; a broken handler cannot break a run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from plait.compose import (
    END,
    START,
    CallbackHandler,
    Graph,
    GraphRunError,
    RunInfo,
    add_global_handler,
    remove_global_handler,
)
from plait.schema import StreamReader


class Recorder(CallbackHandler):
    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[str, ...], Any]] = []
        self.infos: list[RunInfo] = []

    def on_start(self, info: RunInfo, input: Any) -> None:
        self.events.append(("start", info.path, input))

    def on_end(self, info: RunInfo, output: Any) -> None:
        self.events.append(("end", info.path, output))
        self.infos.append(info)

    def on_error(self, info: RunInfo, error: BaseException) -> None:
        self.events.append(("error", info.path, type(error).__name__))

    def on_start_stream(self, info: RunInfo, input: StreamReader[Any]) -> None:
        self.events.append(("start_stream", info.path, None))

    def on_end_stream(self, info: RunInfo, output: StreamReader[Any]) -> None:
        self.events.append(("end_stream", info.path, None))


def two_nodes() -> Graph[int, int]:
    graph: Graph[int, int] = Graph(name="two")
    graph.add_node("a", lambda x: x + 1).add_node("b", lambda x: x * 10)
    return graph.add_edge(START, "a").add_edge("a", "b").add_edge("b", END)


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
    assert {info.run_id for info in recorder.infos} == {"r1"}
    assert all(info.duration is not None and info.duration >= 0 for info in recorder.infos)
    assert [info.kind for info in recorder.infos] == ["node", "node", "graph"]


async def test_errors_reach_on_error_of_the_node_and_the_graph() -> None:
    def fail(x: int) -> int:
        raise KeyError("x")

    graph: Graph[int, int] = Graph()
    graph.add_node("fail", fail).add_edge(START, "fail").add_edge("fail", END)
    recorder = Recorder()
    with pytest.raises(GraphRunError):
        await graph.compile().ainvoke(1, callbacks=[recorder])
    assert ("error", ("fail",), "GraphRunError") in recorder.events
    assert recorder.events[-1] == ("error", (), "GraphRunError")


async def test_global_handlers_apply_to_every_run() -> None:
    recorder = Recorder()
    add_global_handler(recorder)
    try:
        await two_nodes().compile().ainvoke(1)
    finally:
        remove_global_handler(recorder)
    await two_nodes().compile().ainvoke(1)
    assert len(recorder.events) == 6


async def test_subgraph_nodes_report_their_full_path() -> None:
    outer: Graph[int, int] = Graph()
    outer.add_node("sub", two_nodes().compile()).add_edge(START, "sub").add_edge("sub", END)
    recorder = Recorder()
    await outer.compile().ainvoke(1, callbacks=[recorder])
    paths = [path for kind, path, _ in recorder.events if kind == "end"]
    assert paths == [("sub", "a"), ("sub", "b"), ("sub",), ()]


async def test_stream_mode_handlers_get_copies_they_can_read() -> None:
    read: list[list[str]] = []

    class Reader(CallbackHandler):
        def __init__(self) -> None:
            self.pending: list[StreamReader[Any]] = []

        def on_end_stream(self, info: RunInfo, output: StreamReader[Any]) -> None:
            self.pending.append(output)

    async def words(x: str) -> AsyncIterator[str]:
        for w in x.split():
            yield w

    graph: Graph[str, str] = Graph()
    graph.add_node("words", words).add_edge(START, "words").add_edge("words", END)
    handler = Reader()
    assert await graph.compile().astream("a b", callbacks=[handler]).collect() == ["a", "b"]
    read.extend([await copy.collect() for copy in handler.pending])
    assert read == [["a", "b"]]


async def test_a_failing_handler_is_logged_and_the_run_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(CallbackHandler):
        def on_start(self, info: RunInfo, input: Any) -> None:
            raise RuntimeError("handler bug")

    assert await two_nodes().compile().ainvoke(1, callbacks=[Broken()]) == 20
    assert "Broken.on_start failed" in caplog.text
