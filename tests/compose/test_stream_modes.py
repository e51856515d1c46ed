"""The four modes on every compiled graph, and conversions between values and streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from plait.compose import END, START, Graph, GraphRunError, Lambda
from plait.schema import StreamReader


async def words(text: str) -> AsyncIterator[str]:
    for word in text.split():
        yield word + " "


async def upper_each(chunks: StreamReader[str]) -> AsyncIterator[str]:
    async for chunk in chunks:
        yield chunk.upper()


async def count_chunks(chunks: StreamReader[str]) -> int:
    return len(await chunks.collect())


def graph_of(*nodes: Any) -> Graph[Any, Any]:
    graph: Graph[Any, Any] = Graph()
    previous = START
    for i, node in enumerate(nodes):
        graph.add_node(f"n{i}", node).add_edge(previous, f"n{i}")
        previous = f"n{i}"
    return graph.add_edge(previous, END)


async def test_four_modes_of_one_graph() -> None:
    compiled = graph_of(words, upper_each).compile()
    assert await compiled.ainvoke("a b c") == "A B C "
    assert await compiled.astream("a b c").collect() == ["A ", "B ", "C "]
    assert await compiled.acollect(StreamReader.from_iterable(["a b", " c"])) == "A B C "
    transformed = compiled.atransform(StreamReader.from_iterable(["x y"]))
    assert await transformed.collect() == ["X ", "Y "]


async def test_a_value_node_after_a_stream_node_gets_the_concatenation() -> None:
    seen: list[str] = []

    def record(text: str) -> str:
        seen.append(text)
        return text.strip()

    compiled = graph_of(words, record).compile()
    assert await compiled.astream("one two").collect() == ["one two"]
    assert seen == ["one two "]


async def test_a_collect_node_sees_chunks_in_stream_mode_and_one_value_in_invoke_mode() -> None:
    compiled = graph_of(words, count_chunks).compile()
    assert await compiled.astream("a b c d").concat() == 4
    assert await compiled.ainvoke("a b c d") == 1
    assert await graph_of(words, upper_each, count_chunks).compile().astream("a b").concat() == 2


async def test_stream_to_stream_nodes_pass_chunks_before_the_producer_finishes() -> None:
    release = asyncio.Event()

    async def producer(x: str) -> AsyncIterator[str]:
        yield "first"
        await asyncio.wait_for(release.wait(), 5)
        yield "second"

    reader = graph_of(producer, upper_each).compile().astream("go")
    assert await reader.__anext__() == "FIRST"
    release.set()
    assert await reader.collect() == ["SECOND"]


async def test_closing_the_graph_stream_stops_the_producing_node() -> None:
    closed = asyncio.Event()

    async def endless(x: str) -> AsyncIterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
                await asyncio.sleep(0)
        finally:
            closed.set()

    reader = graph_of(endless, Lambda(transform=lambda s: s)).compile().astream("x")
    assert await reader.__anext__() == 0
    await reader.aclose()
    await asyncio.wait_for(closed.wait(), 5)


async def test_fan_out_copies_a_stream_to_each_successor() -> None:
    graph: Graph[str, Any] = Graph()
    graph.add_node("words", words)
    graph.add_node("up", upper_each, output_key="up").add_node("n", count_chunks, output_key="n")
    graph.add_edge(START, "words").add_edge("words", "up").add_edge("words", "n")
    graph.add_edge("up", END).add_edge("n", END)
    compiled = graph.compile()
    assert await compiled.astream("a b").concat() == {"up": "A B ", "n": 2}


async def test_errors_raised_while_streaming_name_the_node() -> None:
    async def broken(x: str) -> AsyncIterator[str]:
        yield "ok"
        raise ValueError("mid-stream")

    reader = graph_of(broken, upper_each).compile().astream("x")
    assert await reader.__anext__() == "OK"
    try:
        await reader.__anext__()
    except GraphRunError as exc:
        assert exc.path == ("n0",)
        assert "mid-stream" in str(exc)
    else:
        raise AssertionError("the stream error was lost")


async def test_stream_mode_branch_decides_on_the_concatenated_output() -> None:
    graph: Graph[str, str] = Graph()
    graph.add_node("words", words).add_node("long", lambda s: "long").add_node("short", lambda s: "short")
    graph.add_edge(START, "words")
    graph.add_branch("words", lambda text: "long" if len(text) > 6 else "short", ["long", "short"])
    graph.add_edge("long", END).add_edge("short", END)
    compiled = graph.compile()
    assert await compiled.astream("a b c d").concat() == "long"
    assert await compiled.astream("a").concat() == "short"


async def test_state_graph_streams_its_final_state() -> None:
    graph: Graph[Any, Any] = Graph(state=dict)
    graph.add_node("a", lambda s: {"x": 1}).add_edge(START, "a").add_edge("a", END)
    assert await graph.compile().astream({"y": 0}).collect() == [{"y": 0, "x": 1}]
