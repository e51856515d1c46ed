"""Checkpoints, interrupts and resume: finished nodes never run twice."""

from __future__ import annotations

import pickle
from collections import Counter
from pathlib import Path
from typing import Any, TypedDict

import pytest

from plait.compose import (
    END,
    START,
    CheckpointCorrupt,
    CheckpointError,
    CheckpointNotFound,
    Graph,
    GraphInterrupted,
    GraphRunError,
    MemoryCheckpointer,
    SQLiteCheckpointer,
    interrupt,
)
from plait.compose.checkpoint import FORMAT_VERSION, Checkpointer, decode
from plait.schema import PlaitError


class Counted:
    """Nodes that count how often they ran, to prove resume skips finished work."""

    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()

    def node(self, name: str, fn: Any = None) -> Any:
        def run(x: Any) -> Any:
            self.runs[name] += 1
            return fn(x) if fn else [*x, name]

        return run


def pipeline(counted: Counted, *names: str) -> Graph[list[str], list[str]]:
    graph: Graph[list[str], list[str]] = Graph(name="pipeline")
    previous = START
    for name in names:
        graph.add_node(name, counted.node(name)).add_edge(previous, name)
        previous = name
    return graph.add_edge(previous, END)


def approval(x: list[str]) -> list[str]:
    answer = interrupt({"question": "approve?", "so_far": x})
    return [*x, f"approved={answer}"]


@pytest.fixture(params=["memory", "sqlite"])
def checkpointer(request: pytest.FixtureRequest, tmp_path: Path) -> Checkpointer:
    if request.param == "memory":
        return MemoryCheckpointer()
    store = SQLiteCheckpointer(tmp_path / "checkpoints.db")
    request.addfinalizer(store.close)
    return store


async def test_interrupt_inside_a_node_pauses_with_its_payload_and_resumes(checkpointer: Checkpointer) -> None:
    counted = Counted()
    graph = pipeline(counted, "a")
    graph.add_node("approve", approval).add_node("z", counted.node("z"))
    graph.edges.remove(("a", END))
    graph.add_edge("a", "approve").add_edge("approve", "z").add_edge("z", END)
    compiled = graph.compile(checkpointer=checkpointer)

    with pytest.raises(GraphInterrupted) as info:
        await compiled.ainvoke([], run_id="run-1")
    assert info.value.run_id == "run-1"
    (paused,) = info.value.interrupts
    assert (paused.node, paused.kind, paused.path) == ("approve", "inside", ("approve",))
    assert paused.payload == {"question": "approve?", "so_far": ["a"]}

    assert await compiled.aresume("run-1", "yes") == ["a", "approved=yes", "z"]
    assert counted.runs == {"a": 1, "z": 1}


async def test_interrupt_before_and_after_nodes(checkpointer: Checkpointer) -> None:
    counted = Counted()
    compiled = pipeline(counted, "a", "b", "c").compile(
        checkpointer=checkpointer, interrupt_before=["b"], interrupt_after=["c"]
    )
    with pytest.raises(GraphInterrupted) as before:
        await compiled.ainvoke([], run_id="r")
    assert [(i.node, i.kind) for i in before.value.interrupts] == [("b", "before")]
    assert counted.runs == {"a": 1}
    with pytest.raises(GraphInterrupted) as after:
        await compiled.aresume("r")
    assert [(i.node, i.kind) for i in after.value.interrupts] == [("c", "after")]
    assert await compiled.aresume("r") == ["a", "b", "c"]
    assert counted.runs == {"a": 1, "b": 1, "c": 1}


async def test_resume_data_before_a_node_replaces_its_input() -> None:
    counted = Counted()
    compiled = pipeline(counted, "a", "b").compile(checkpointer=MemoryCheckpointer(), interrupt_before=["b"])
    with pytest.raises(GraphInterrupted):
        await compiled.ainvoke([], run_id="edit")
    assert await compiled.aresume("edit", ["edited"]) == ["edited", "b"]


class Draft(TypedDict):
    text: str
    reviewed: bool


async def test_state_graph_resume_data_is_a_state_update() -> None:
    graph: Graph[Draft, Draft] = Graph(state=Draft)
    graph.add_node("write", lambda s: {"text": "draft"}).add_node("publish", lambda s: {"text": s["text"] + "!"})
    graph.add_edge(START, "write").add_edge("write", "publish").add_edge("publish", END)
    compiled = graph.compile(checkpointer=MemoryCheckpointer(), interrupt_after=["write"])
    with pytest.raises(GraphInterrupted):
        await compiled.ainvoke({"text": "", "reviewed": False}, run_id="s")
    assert await compiled.aresume("s", {"text": "edited", "reviewed": True}) == {"text": "edited!", "reviewed": True}


async def test_several_interrupts_in_one_step_take_a_dict_of_answers() -> None:
    def ask(name: str) -> Any:
        return lambda x: {name: interrupt(name)}

    graph: Graph[Any, Any] = Graph()
    graph.add_node("p", ask("p")).add_node("q", ask("q"))
    graph.add_edge(START, "p").add_edge(START, "q").add_edge("p", END).add_edge("q", END)
    compiled = graph.compile(checkpointer=MemoryCheckpointer())
    with pytest.raises(GraphInterrupted) as info:
        await compiled.ainvoke(0, run_id="two")
    assert sorted(i.payload for i in info.value.interrupts) == ["p", "q"]
    with pytest.raises(PlaitError, match="dict of node name to data"):
        await compiled.aresume("two", "same")
    assert await compiled.aresume("two", {"p": 1, "q": 2}) == {"p": 1, "q": 2}


async def test_a_node_interrupting_twice_gets_answers_in_order() -> None:
    def interview(x: Any) -> list[Any]:
        return [interrupt("name?"), interrupt("age?")]

    graph: Graph[Any, Any] = Graph()
    graph.add_node("ask", interview).add_edge(START, "ask").add_edge("ask", END)
    compiled = graph.compile(checkpointer=MemoryCheckpointer())
    with pytest.raises(GraphInterrupted):
        await compiled.ainvoke(None, run_id="i")
    with pytest.raises(GraphInterrupted) as second:
        await compiled.aresume("i", "Ada")
    assert second.value.interrupts[0].payload == "age?"
    assert await compiled.aresume("i", 36) == ["Ada", 36]


async def test_interrupt_inside_a_subgraph_resumes_the_subgraph_where_it_stopped() -> None:
    counted = Counted()
    inner = pipeline(counted, "i1")
    inner.add_node("ask", approval).add_node("i2", counted.node("i2"))
    inner.edges.remove(("i1", END))
    inner.add_edge("i1", "ask").add_edge("ask", "i2").add_edge("i2", END)
    outer: Graph[list[str], list[str]] = Graph(name="outer")
    outer.add_node("o1", counted.node("o1")).add_node("sub", inner.compile()).add_node("o2", counted.node("o2"))
    outer.add_edge(START, "o1").add_edge("o1", "sub").add_edge("sub", "o2").add_edge("o2", END)
    compiled = outer.compile(checkpointer=MemoryCheckpointer())

    with pytest.raises(GraphInterrupted) as info:
        await compiled.ainvoke([], run_id="nested")
    assert info.value.interrupts[0].path == ("sub", "ask")
    assert await compiled.aresume("nested", "ok") == ["o1", "i1", "approved=ok", "i2", "o2"]
    assert counted.runs == {"o1": 1, "i1": 1, "i2": 1, "o2": 1}


async def test_a_crashed_run_resumes_from_its_last_step(checkpointer: Checkpointer) -> None:
    counted = Counted()
    healthy = {"ok": False}

    def flaky(x: list[str]) -> list[str]:
        if not healthy["ok"]:
            raise ConnectionError("down")
        return [*x, "flaky"]

    graph = pipeline(counted, "a", "b")
    graph.add_node("flaky", flaky)
    graph.edges.remove(("b", END))
    graph.add_edge("b", "flaky").add_edge("flaky", END)
    compiled = graph.compile(checkpointer=checkpointer)
    with pytest.raises(GraphRunError):
        await compiled.ainvoke([], run_id="crash")
    healthy["ok"] = True
    assert await compiled.aresume("crash") == ["a", "b", "flaky"]
    assert counted.runs == {"a": 1, "b": 1}


async def test_stream_mode_resume() -> None:
    counted = Counted()
    compiled = pipeline(counted, "a", "b").compile(checkpointer=MemoryCheckpointer(), interrupt_before=["b"])
    with pytest.raises(GraphInterrupted):
        await compiled.astream([], run_id="st").collect()
    assert await compiled.astream_resume("st").collect() == [["a", "b"]]
    assert counted.runs == {"a": 1, "b": 1}


async def test_sqlite_checkpoints_survive_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    first = SQLiteCheckpointer(path)
    compiled = pipeline(Counted(), "a", "b").compile(checkpointer=first, interrupt_before=["b"])
    with pytest.raises(GraphInterrupted):
        await compiled.ainvoke([], run_id="durable")
    first.close()
    second = SQLiteCheckpointer(path)
    try:
        resumed = pipeline(Counted(), "a", "b").compile(checkpointer=second, interrupt_before=["b"])
        assert await resumed.aresume("durable") == ["a", "b"]
        assert await second.steps("durable") == [0, 1, 2]
    finally:
        second.close()


async def test_every_step_is_checkpointed_and_readable() -> None:
    store = MemoryCheckpointer()
    compiled = pipeline(Counted(), "a", "b").compile(checkpointer=store)
    assert await compiled.ainvoke([], run_id="steps") == ["a", "b"]
    assert await store.steps("steps") == [0, 1, 2]
    middle = await compiled.get_checkpoint("steps", 1)
    assert (middle.status, middle.tasks) == ("running", [("b", ["a"])])
    last = await compiled.get_checkpoint("steps")
    assert (last.status, last.output) == ("done", ["a", "b"])


async def test_resume_errors_are_clear() -> None:
    store = MemoryCheckpointer()
    compiled = pipeline(Counted(), "a").compile(checkpointer=store)
    with pytest.raises(CheckpointNotFound, match="no checkpoint for run 'ghost'"):
        await compiled.aresume("ghost")
    await compiled.ainvoke([], run_id="done")
    with pytest.raises(PlaitError, match="already finished"):
        await compiled.aresume("done")
    other = pipeline(Counted(), "x").compile(checkpointer=store)
    with pytest.raises(CheckpointCorrupt, match="written by graph"):
        await other.aresume("done")
    with pytest.raises(CheckpointError, match="no checkpointer"):
        await pipeline(Counted(), "a").compile().aresume("done")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:5], "truncated"),
        (lambda b: b"XXXX" + b[4:], "not a Plait checkpoint"),
        (lambda b: b[:-1] + bytes([b[-1] ^ 0xFF]), "checksum mismatch"),
        (lambda b: b[:4] + (FORMAT_VERSION + 1).to_bytes(2, "big") + b[6:], "format version 2 is not supported"),
    ],
)
async def test_corrupt_checkpoints_are_detected(damage: Any, message: str) -> None:
    store = MemoryCheckpointer()
    compiled = pipeline(Counted(), "a", "b").compile(checkpointer=store, interrupt_before=["b"])
    with pytest.raises(GraphInterrupted):
        await compiled.ainvoke([], run_id="c")
    data = await store.get("c")
    assert data is not None
    await store.put("c", 99, damage(data))
    with pytest.raises(CheckpointCorrupt, match=message):
        await compiled.aresume("c")


def test_decode_rejects_a_payload_of_the_wrong_type() -> None:
    import struct
    import zlib

    payload = pickle.dumps({"not": "a checkpoint"})
    data = struct.pack(">4sHI", b"PLCK", FORMAT_VERSION, zlib.crc32(payload)) + payload
    with pytest.raises(CheckpointCorrupt, match="wrong type"):
        decode(data)


async def test_interrupt_without_a_checkpointer_is_a_run_error() -> None:
    graph: Graph[Any, Any] = Graph()
    graph.add_node("ask", approval).add_edge(START, "ask").add_edge("ask", END)
    with pytest.raises(GraphRunError, match="no checkpointer to resume from"):
        await graph.compile().ainvoke([])


async def test_unserialisable_state_is_a_clear_checkpoint_error() -> None:
    graph: Graph[Any, Any] = Graph()
    graph.add_node("a", lambda x: lambda: None).add_node("b", lambda x: x)
    graph.add_edge(START, "a").add_edge("a", "b").add_edge("b", END)
    with pytest.raises(CheckpointError, match="not serialisable"):
        await graph.compile(checkpointer=MemoryCheckpointer()).ainvoke(0)
