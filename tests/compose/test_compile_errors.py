"""Compile finds the mistakes of a graph's author before anything runs."""

from __future__ import annotations

from typing import Any

import pytest

from plait.compose import END, START, Graph, GraphSetupError


def ident(x: Any) -> Any:
    return x


def to_str(x: int) -> str:
    return str(x)


def takes_int(x: int) -> int:
    return x


def gives_list(x: int) -> list[int]:
    return [x]


def takes_dict(x: dict[str, Any]) -> dict[str, Any]:
    return x


def build(edges: list[tuple[str, str]], nodes: dict[str, Any] | None = None, **graph: Any) -> Graph[Any, Any]:
    g: Graph[Any, Any] = Graph(**graph)
    for name, fn in (nodes or {}).items():
        g.add_node(name, fn)
    for source, target in edges:
        g.add_edge(source, target)
    return g


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        (build([]), "has no nodes"),
        (build([(START, "ghost"), ("a", END)], {"a": ident}), "unknown node 'ghost'"),
        (build([("a", END)], {"a": ident}), "nothing follows START"),
        (build([(START, "a"), ("a", END), ("b", END)], {"a": ident, "b": ident}), "not reachable from START: b"),
        (build([(START, "a")], {"a": ident}), "END cannot be reached"),
        (build([(START, "a"), ("a", END), (START, "b")], {"a": ident, "b": ident}), "no outgoing edge"),
        (build([(START, "a"), ("a", "b"), ("b", END)], {"a": to_str, "b": takes_int}), "a outputs str, b takes int"),
        (
            build(
                [(START, "a"), (START, "b"), ("a", "j"), ("b", "j"), ("j", END)],
                {"a": gives_list, "b": gives_list, "j": takes_dict},
            ),
            "must be dicts",
        ),
        (
            build(
                [(START, "a"), (START, "b"), ("a", "j"), ("b", "j"), ("j", END)], {"a": ident, "b": ident, "j": to_str}
            ),
            "receives merged dicts",
        ),
        (build([(START, "a"), ("a", END)], {"a": to_str}, input_type=str), "START outputs str, a takes int"),
        (build([(START, "a"), ("a", END)], {"a": to_str}, output_type=int), "a outputs str, END takes int"),
    ],
)
def test_compile_rejects(graph: Graph[Any, Any], message: str) -> None:
    with pytest.raises(GraphSetupError, match=message):
        graph.compile()


def test_cycle_needs_pregel_mode() -> None:
    graph = build([(START, "a"), ("a", "b"), ("b", "a")], {"a": ident, "b": ident})
    graph.add_branch("b", lambda x: END, [END, "a"])
    with pytest.raises(GraphSetupError, match="cycle"):
        graph.compile(mode="dag")
    assert graph.compile().plan.pregel


def test_branch_to_unknown_node_is_rejected() -> None:
    graph = build([(START, "a")], {"a": ident}).add_branch("a", lambda x: "nowhere", ["nowhere", END])
    with pytest.raises(GraphSetupError, match="unknown node 'nowhere'"):
        graph.compile()


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda g: g.add_node(START, ident), "reserved"),
        (lambda g: g.add_node("a", ident), "already in the graph"),
        (lambda g: g.add_node("", ident), "non-empty"),
        (lambda g: g.add_node("x", 42), "cannot use int as a node"),
        (lambda g: g.add_node("t", ident, timeout=0), "timeout must be positive"),
        (lambda g: g.add_edge(END, "a"), "END has no outgoing"),
        (lambda g: g.add_edge("a", START), "START has no incoming"),
        (lambda g: g.add_edge(START, "a").add_edge(START, "a"), "already in the graph"),
        (lambda g: g.add_branch("a", "not callable", ["a"]), "not callable"),
        (lambda g: g.add_branch("a", ident, []), "no targets"),
        (lambda g: g.add_branch("a", ident, [END]).add_branch("a", ident, [END]), "one branch per node"),
    ],
)
def test_builder_rejects(action: Any, message: str) -> None:
    graph = build([], {"a": ident})
    with pytest.raises(GraphSetupError, match=message):
        action(graph)


def test_interrupts_must_name_real_nodes() -> None:
    graph = build([(START, "a"), ("a", END)], {"a": ident})
    with pytest.raises(GraphSetupError, match="unknown nodes: ghost"):
        graph.compile(interrupt_before=["ghost"])


def test_untyped_and_any_edges_are_accepted() -> None:
    graph = build([(START, "a"), ("a", "b"), ("b", END)], {"a": ident, "b": takes_int}, input_type=int)
    assert graph.compile().plan.nodes["b"].preds == 1
