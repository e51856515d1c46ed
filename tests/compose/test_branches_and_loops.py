"""Branches in DAG mode (with skipping) and loops in Pregel mode."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import pytest

from plait.compose import END, START, Graph, GraphRunError, MaxStepsExceeded, append


def route_by_sign(x: int) -> str:
    return "pos" if x >= 0 else "neg"


def sign_graph() -> Graph[int, str]:
    graph: Graph[int, str] = Graph()
    graph.add_node("check", lambda x: x)
    graph.add_node("positive", lambda x: f"+{x}").add_node("negative", lambda x: f"-{abs(x)}")
    graph.add_node("done", lambda s: s.upper())
    graph.add_edge(START, "check")
    graph.add_branch("check", route_by_sign, {"pos": "positive", "neg": "negative"})
    graph.add_edge("positive", "done").add_edge("negative", "done").add_edge("done", END)
    return graph


@pytest.mark.parametrize(("value", "expected"), [(3, "+3"), (-4, "-4")])
async def test_branch_runs_the_chosen_node_and_the_join_runs_once(value: int, expected: str) -> None:
    assert await sign_graph().compile().ainvoke(value) == expected.upper()


async def test_skipped_nodes_do_not_run() -> None:
    ran: list[str] = []
    graph: Graph[int, int] = Graph()
    for name in ("a", "b", "after_b"):
        graph.add_node(name, lambda x, name=name: ran.append(name) or x)
    graph.add_edge(START, "a").add_branch("a", lambda x: "b" if x else END, ["b", END])
    graph.add_edge("b", "after_b").add_edge("after_b", END)
    assert await graph.compile().ainvoke(0) == 0
    assert ran == ["a"]


async def test_async_condition_and_several_targets() -> None:
    async def both(x: int) -> list[str]:
        return ["double", "square"]

    graph: Graph[int, dict[str, int]] = Graph()
    graph.add_node("start", lambda x: x)
    graph.add_node("double", lambda x: x * 2, output_key="double")
    graph.add_node("square", lambda x: x * x, output_key="square")
    graph.add_edge(START, "start").add_branch("start", both, ["double", "square"])
    graph.add_edge("double", END).add_edge("square", END)
    assert await graph.compile().ainvoke(3) == {"double": 6, "square": 9}


async def test_branch_from_start() -> None:
    graph: Graph[str, str] = Graph()
    graph.add_node("shout", str.upper).add_node("whisper", str.lower)
    graph.add_branch(START, lambda s: "shout" if s.endswith("!") else "whisper", ["shout", "whisper"])
    graph.add_edge("shout", END).add_edge("whisper", END)
    compiled = graph.compile()
    assert await compiled.ainvoke("Hi!") == "HI!"
    assert await compiled.ainvoke("Hi") == "hi"


async def test_branch_choosing_an_undeclared_label_fails_clearly() -> None:
    graph: Graph[int, int] = Graph()
    graph.add_node("a", lambda x: x).add_node("b", lambda x: x)
    graph.add_edge(START, "a").add_branch("a", lambda x: "c", ["b"]).add_edge("b", END)
    with pytest.raises(GraphRunError, match="branch chose 'c', which is not one of 'b'") as info:
        await graph.compile().ainvoke(1)
    assert info.value.path == ("a",)


async def test_failing_condition_is_a_run_error_of_its_node() -> None:
    graph: Graph[int, int] = Graph()
    graph.add_node("a", lambda x: x).add_node("b", lambda x: x)
    graph.add_edge(START, "a").add_branch("a", lambda x: 1 / 0, ["b"]).add_edge("b", END)
    with pytest.raises(GraphRunError, match="branch condition failed: ZeroDivisionError"):
        await graph.compile().ainvoke(1)


def loop_graph() -> Graph[int, int]:
    graph: Graph[int, int] = Graph()
    graph.add_node("step", lambda x: x + 1)
    graph.add_edge(START, "step").add_branch("step", lambda x: END if x >= 5 else "step", ["step", END])
    return graph


async def test_pregel_loop_runs_until_its_exit_branch() -> None:
    compiled = loop_graph().compile()
    assert compiled.plan.pregel
    assert await compiled.ainvoke(0) == 5


async def test_pregel_loop_is_bounded_by_max_steps() -> None:
    with pytest.raises(MaxStepsExceeded, match="exceeded 3 steps"):
        await loop_graph().compile(max_steps=3).ainvoke(0)


class Chat(TypedDict):
    turns: Annotated[list[str], append]
    count: int


async def test_state_graph_loop_folds_updates_with_reducers() -> None:
    graph: Graph[Chat, Chat] = Graph(state=Chat)
    graph.add_node("speak", lambda s: {"turns": f"turn {s['count']}", "count": s["count"] + 1})
    graph.add_edge(START, "speak")
    graph.add_branch("speak", lambda s: END if s["count"] >= 3 else "speak", ["speak", END])
    result = await graph.compile().ainvoke({"count": 0})
    assert result == {"turns": ["turn 0", "turn 1", "turn 2"], "count": 3}


async def test_state_graph_parallel_updates_fold_in_one_step() -> None:
    graph: Graph[Any, Any] = Graph(state=Chat)
    graph.add_node("a", lambda s: {"turns": ["a"]}).add_node("b", lambda s: {"turns": ["b"]})
    graph.add_node("count", lambda s: {"count": len(s["turns"])})
    graph.add_edge(START, "a").add_edge(START, "b").add_edge("a", "count").add_edge("b", "count")
    graph.add_edge("count", END)
    result = await graph.compile().ainvoke({"turns": ["start"], "count": 0})
    assert result == {"turns": ["start", "a", "b"], "count": 3}


@pytest.mark.parametrize(
    ("update", "message"),
    [({"unknown": 1}, "wrote unknown state key 'unknown'"), ("not a dict", "must be a mapping")],
)
async def test_bad_state_updates_are_run_errors(update: Any, message: str) -> None:
    graph: Graph[Any, Any] = Graph(state=Chat)
    graph.add_node("bad", lambda s: update).add_edge(START, "bad").add_edge("bad", END)
    with pytest.raises(GraphRunError, match=message) as info:
        await graph.compile().ainvoke({"count": 0})
    assert info.value.path == ("bad",)


async def test_state_from_a_mapping_of_reducers() -> None:
    import operator

    graph: Graph[Any, Any] = Graph(state={"total": operator.add, "last": None})
    graph.add_node("a", lambda s: {"total": 2, "last": "a"}).add_node("b", lambda s: {"total": 3, "last": "b"})
    graph.add_edge(START, "a").add_edge("a", "b").add_edge("b", END)
    assert await graph.compile().ainvoke({"total": 1}) == {"total": 6, "last": "b"}
