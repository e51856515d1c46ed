"""Chain (linear sugar with parallel and branch) and Workflow (field mapping between nodes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

import pytest

from plait.compose import END, START, Chain, GraphRunError, GraphSetupError, Workflow


async def test_chain_then_parallel_then() -> None:
    chain: Chain[str, str] = (
        Chain().then(str.strip).parallel(upper=str.upper, size=len).then(lambda d: f"{d['upper']}:{d['size']}")
    )
    assert await chain.compile().ainvoke("  hi ") == "HI:2"


async def test_chain_ending_in_parallel_outputs_the_dict() -> None:
    chain: Chain[int, dict[str, int]] = Chain().parallel(double=lambda x: x * 2, square=lambda x: x * x)
    assert await chain.compile().ainvoke(3) == {"double": 6, "square": 9}


@pytest.mark.parametrize(("text", "expected"), [("hello?", "Q: HELLO?"), ("hello", "S: hello")])
async def test_chain_branch_runs_one_path_and_continues(text: str, expected: str) -> None:
    chain: Chain[str, str] = (
        Chain()
        .branch(
            lambda s: "question" if s.endswith("?") else "statement",
            {"question": lambda s: "Q: " + s.upper(), "statement": lambda s: "S: " + s},
        )
        .then(lambda s: s)
    )
    assert await chain.compile().ainvoke(text) == expected


async def test_chain_branch_after_parallel_decides_on_the_merged_outputs() -> None:
    chain: Chain[int, str] = (
        Chain()
        .parallel(a=lambda x: x, b=lambda x: -x)
        .branch(lambda d: "pos" if d["a"] > 0 else "neg", {"pos": lambda d: "pos", "neg": lambda d: "neg"})
    )
    assert await chain.compile().ainvoke(1) == "pos"
    assert await chain.compile().ainvoke(-1) == "neg"


def test_chain_misuse_is_a_setup_error() -> None:
    with pytest.raises(GraphSetupError, match="empty"):
        Chain().compile()
    with pytest.raises(GraphSetupError, match="at least two"):
        Chain().parallel(only=len)
    with pytest.raises(GraphSetupError, match="at least one"):
        Chain().branch(lambda x: "a", {})


async def test_chain_compiles_twice_to_the_same_behaviour() -> None:
    chain: Chain[int, int] = Chain().then(lambda x: x + 1)
    assert await chain.compile().ainvoke(1) == await chain.compile().ainvoke(1) == 2


class Question(TypedDict):
    question: str
    user: dict[str, str]


class Hits(TypedDict):
    docs: list[str]
    count: int


@dataclass
class AnswerInput:
    question: str
    docs: list[str]
    name: str


def search(request: dict[str, Any]) -> Hits:
    docs = [f"doc about {request['query']}"]
    return {"docs": docs, "count": len(docs)}


def answer(inputs: AnswerInput) -> str:
    return f"{inputs.name}: {inputs.question} -> {inputs.docs[0]}"


def qa_workflow() -> Workflow[Question, dict[str, Any]]:
    wf: Workflow[Question, dict[str, Any]] = Workflow(input_type=Question)
    wf.add_node("search", search).add_input(START, {"query": "question"})
    wf.add_node("answer", answer).add_input(START, {"question": "question", "name": "user.name"}).add_input(
        "search", {"docs": "docs"}
    )
    wf.end().add_input("answer", {"text": ""}).add_input("search", {"meta.hits": "count"})
    return wf


async def test_workflow_maps_fields_between_nodes_and_builds_typed_inputs() -> None:
    result = await qa_workflow().compile().ainvoke({"question": "tides", "user": {"name": "Ada"}})
    assert result == {"text": "Ada: tides -> doc about tides", "meta": {"hits": 1}}


async def test_workflow_missing_field_at_run_time_names_it() -> None:
    with pytest.raises(GraphRunError, match=r"no field 'user\.name'"):
        await qa_workflow().compile().ainvoke({"question": "tides", "user": {}})  # type: ignore[typeddict-item]


def test_workflow_field_that_types_show_cannot_exist_is_a_setup_error() -> None:
    wf: Workflow[Question, Any] = Workflow(input_type=Question)
    wf.add_node("search", search).add_input(START, {"query": "missing"})
    wf.end().add_input("search")
    with pytest.raises(GraphSetupError, match="outputs no field 'missing'"):
        wf.compile()
    wf2: Workflow[Question, Any] = Workflow(input_type=Question)
    wf2.add_node("answer", answer).add_input(START, {"nope": "question"})
    wf2.end().add_input("answer")
    with pytest.raises(GraphSetupError, match="no input field 'nope'"):
        wf2.compile()


def test_workflow_node_without_input_or_unknown_source_is_a_setup_error() -> None:
    wf: Workflow[Any, Any] = Workflow()
    wf.add_node("lonely", lambda x: x)
    wf.end().add_input("lonely")
    with pytest.raises(GraphSetupError, match="'lonely' has no input"):
        wf.compile()
    wf2: Workflow[Any, Any] = Workflow()
    wf2.add_node("a", lambda x: x).add_input("ghost")
    wf2.end().add_input("a")
    with pytest.raises(GraphSetupError, match="unknown node 'ghost'"):
        wf2.compile()
    with pytest.raises(GraphSetupError, match="empty field mapping"):
        Workflow().add_node("b", len).add_input(START, {})


async def test_workflow_dependency_orders_without_passing_data() -> None:
    log: list[str] = []
    wf: Workflow[int, Any] = Workflow()
    wf.add_node("first", lambda x: log.append("first")).add_input(START)
    wf.add_node("second", lambda x: log.append("second") or x * 2).add_input(START).add_dependency("first")
    wf.end().add_input("second")
    assert await wf.compile().ainvoke(5) == 10
    assert log == ["first", "second"]


async def test_workflow_branch_skips_the_unchosen_side() -> None:
    wf: Workflow[int, Any] = Workflow()
    wf.add_node("check", lambda x: x).add_input(START)
    wf.add_node("big", lambda x: "big").add_input("check")
    wf.add_node("small", lambda x: "small").add_input("check")
    wf.add_branch("check", lambda x: "big" if x > 10 else "small", ["big", "small"])
    wf.end().add_input("big", {"size": ""}).add_input("small", {"size": ""})
    compiled = wf.compile()
    assert await compiled.ainvoke(50) == {"size": "big"}
    assert await compiled.ainvoke(1) == {"size": "small"}
    assert END in {target for node in compiled.plan.nodes.values() for target in node.edges}
