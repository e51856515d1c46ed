"""Features combined: loops, subgraphs, workflows and checkpoints in stream mode; state graphs with branches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from plait.compose import END, START, Chain, Graph, GraphInterrupted, MemoryCheckpointer, Workflow


async def words(text: str) -> AsyncIterator[str]:
    for word in text.split():
        yield word + " "


async def test_pregel_loop_in_stream_mode() -> None:
    graph: Graph[int, int] = Graph()
    graph.add_node("step", lambda x: x + 1)
    graph.add_edge(START, "step").add_branch("step", lambda x: END if x >= 5 else "step", ["step", END])
    assert await graph.compile().astream(0).collect() == [5]


async def test_streaming_subgraph_streams_through_its_parent() -> None:
    inner = Chain().then(words).compile()
    outer = Chain().then(str.upper).then(inner).compile()
    assert await outer.astream("a b c").collect() == ["A ", "B ", "C "]


async def test_workflow_field_mapping_in_both_modes() -> None:
    wf: Workflow[int, int] = Workflow()
    wf.add_node("a", lambda x: {"v": x * 2}).add_input(START)
    wf.add_node("b", lambda x: {"w": x + 1}).add_input(START)
    wf.add_node("c", lambda d: d["v"] + d["w"]).add_input("a", {"v": "v"}).add_input("b", {"w": "w"})
    wf.end().add_input("c")
    compiled = wf.compile()
    assert await compiled.ainvoke(3) == 10
    assert await compiled.astream(3).collect() == [10]


async def test_state_graph_branch_skips_the_unchosen_update() -> None:
    graph: Graph[Any, Any] = Graph(state=dict)
    graph.add_node("a", lambda s: {"x": 1}).add_node("b", lambda s: {"y": 2}).add_node("c", lambda s: {"z": 3})
    graph.add_node("d", lambda s: {"done": True})
    graph.add_edge(START, "a").add_branch("a", lambda s: "b", ["b", "c"])
    graph.add_edge("b", "d").add_edge("c", "d").add_edge("d", END)
    assert await graph.compile().ainvoke({}) == {"x": 1, "y": 2, "done": True}


async def test_pregel_fan_in_merges_what_arrives_in_one_step() -> None:
    graph: Graph[int, Any] = Graph()
    graph.add_node("a", lambda x: {"a": x}).add_node("b", lambda x: {"b": x}).add_node("j", lambda d: d)
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", "j").add_edge("b", "j").add_edge("j", END)
    assert await graph.compile(mode="pregel").ainvoke(1) == {"a": 1, "b": 1}


@pytest.mark.parametrize("resume_streaming", [False, True])
async def test_a_run_paused_in_one_mode_resumes_in_either(resume_streaming: bool) -> None:
    graph: Graph[int, Any] = Graph()
    graph.add_node("a", lambda x: {"a": x}).add_node("b", lambda x: {"b": x}).add_node("j", lambda d: d)
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", "j").add_edge("b", "j").add_edge("j", END)
    compiled = graph.compile(checkpointer=MemoryCheckpointer(), interrupt_before=["j"])
    with pytest.raises(GraphInterrupted):
        await compiled.astream(1, run_id="r").collect()
    if resume_streaming:
        assert await compiled.astream_resume("r").collect() == [{"a": 1, "b": 1}]
    else:
        assert await compiled.aresume("r") == {"a": 1, "b": 1}
