"""Data flowing along edges: linear graphs, fan-out and fan-in, keys, subgraphs, the sync wrappers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from plait.compose import END, START, Graph, GraphRunError


def inc(state: dict[str, int]) -> dict[str, int]:
    return {"counter": state["counter"] + 1}


def linear(n: int) -> Graph[dict[str, int], dict[str, int]]:
    graph: Graph[dict[str, int], dict[str, int]] = Graph()
    previous = START
    for i in range(n):
        graph.add_node(f"n{i}", inc).add_edge(previous, f"n{i}")
        previous = f"n{i}"
    return graph.add_edge(previous, END)


async def test_linear_graph_passes_each_output_to_the_next_node() -> None:
    assert await linear(10).compile().ainvoke({"counter": 0}) == {"counter": 10}


def test_sync_invoke_and_stream_wrap_the_async_core() -> None:
    compiled = linear(3).compile()
    assert compiled.invoke({"counter": 1}) == {"counter": 4}
    assert list(compiled.stream({"counter": 1})) == [{"counter": 4}]


async def test_sync_invoke_refuses_to_run_inside_an_event_loop() -> None:
    with pytest.raises(RuntimeError, match="ainvoke"):
        linear(1).compile().invoke({"counter": 0})


async def test_async_and_sync_nodes_mix() -> None:
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    graph: Graph[int, str] = Graph()
    graph.add_node("double", double).add_node("show", lambda x: f"={x}")
    graph.add_edge(START, "double").add_edge("double", "show").add_edge("show", END)
    assert await graph.compile().ainvoke(21) == "=42"


async def test_fan_out_runs_branches_concurrently_and_fan_in_merges_dicts() -> None:
    started: list[str] = []
    both_started = asyncio.Event()

    def worker(key: str) -> Any:
        async def run(x: int) -> dict[str, int]:
            started.append(key)
            if len(started) == 2:
                both_started.set()
            await asyncio.wait_for(both_started.wait(), 5)
            return {key: x + 1}

        return run

    graph: Graph[int, dict[str, int]] = Graph()
    graph.add_node("a", worker("a")).add_node("b", worker("b")).add_node("join", lambda d: d)
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", "join").add_edge("b", "join")
    graph.add_edge("join", END)
    assert await graph.compile().ainvoke(1) == {"a": 2, "b": 2}


async def test_fan_in_key_conflict_is_a_run_error_naming_the_node() -> None:
    graph: Graph[int, Any] = Graph()
    graph.add_node("a", lambda x: {"k": 1}).add_node("b", lambda x: {"k": 2}).add_node("j", lambda d: d)
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", "j").add_edge("b", "j").add_edge("j", END)
    with pytest.raises(GraphRunError, match="fan-in conflict") as info:
        await graph.compile().ainvoke(0)
    assert info.value.path == ("j",)


async def test_input_key_and_output_key_reshape_values() -> None:
    graph: Graph[dict[str, str], dict[str, int]] = Graph()
    graph.add_node("length", len, input_key="text", output_key="length")
    graph.add_edge(START, "length").add_edge("length", END)
    assert await graph.compile().ainvoke({"text": "hello"}) == {"length": 5}


async def test_missing_input_key_is_a_clear_run_error() -> None:
    graph: Graph[dict[str, str], int] = Graph()
    graph.add_node("length", len, input_key="text").add_edge(START, "length").add_edge("length", END)
    with pytest.raises(GraphRunError, match="no key 'text'"):
        await graph.compile().ainvoke({"other": "x"})


async def test_node_error_carries_path_and_cause() -> None:
    def boom(x: int) -> int:
        raise ValueError("bad value")

    graph: Graph[int, int] = Graph()
    graph.add_node("boom", boom).add_edge(START, "boom").add_edge("boom", END)
    with pytest.raises(GraphRunError) as info:
        await graph.compile().ainvoke(1)
    assert info.value.path == ("boom",)
    assert isinstance(info.value.cause, ValueError)
    assert "bad value" in str(info.value)


async def test_compiled_graph_is_a_node_of_another_graph() -> None:
    inner = linear(3).compile()
    outer: Graph[dict[str, int], dict[str, int]] = Graph()
    outer.add_node("first", inc).add_node("inner", inner).add_node("last", inc)
    outer.add_edge(START, "first").add_edge("first", "inner").add_edge("inner", "last").add_edge("last", END)
    assert await outer.compile().ainvoke({"counter": 0}) == {"counter": 5}


async def test_subgraph_errors_report_the_full_path() -> None:
    def fail(x: int) -> int:
        raise RuntimeError("deep")

    inner: Graph[int, int] = Graph(name="inner")
    inner.add_node("fail", fail).add_edge(START, "fail").add_edge("fail", END)
    outer: Graph[int, int] = Graph()
    outer.add_node("sub", inner.compile()).add_edge(START, "sub").add_edge("sub", END)
    with pytest.raises(GraphRunError) as info:
        await outer.compile().ainvoke(1)
    assert info.value.path == ("sub", "fail")


async def test_a_compiled_graph_runs_concurrently() -> None:
    compiled = linear(5).compile()
    results = await asyncio.gather(*(compiled.ainvoke({"counter": i}) for i in range(50)))
    assert results == [{"counter": i + 5} for i in range(50)]


async def test_blocking_lambda_runs_off_the_event_loop() -> None:
    import threading

    from plait.compose import Lambda

    main = threading.get_ident()
    graph: Graph[int, int] = Graph()
    graph.add_node("where", Lambda(lambda x: threading.get_ident(), blocking=True))
    graph.add_edge(START, "where").add_edge("where", END)
    assert await graph.compile().ainvoke(0) != main
