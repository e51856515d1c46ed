"""Loop, break/continue, batch and sub-workflow nodes, run in workflows with the scripted model."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from wf_helpers import chain, make_doc, node, ref

from plait.models.registry import default_registry
from plait.workflows import NodeFinished, RunEvent, RunFailed, RunFinished, Services, WorkflowDoc, run_workflow
from plait.workflows.nodes import EmptyConfig, NodeContext, NodeResult, NodeType, register
from plait.workflows.ports import WorkflowResolver


def services(**extras: Any) -> Services:
    return Services(models=default_registry(), extras={WorkflowResolver: extras["resolver"]} if extras else {})


async def run(doc: WorkflowDoc, inputs: Mapping[str, Any], svc: Services | None = None) -> list[RunEvent]:
    return [event async for event in run_workflow(doc, inputs, services=svc or services())]


def echo(node_id: str, prompt: str, **inputs: Any) -> dict[str, Any]:
    """An llm node on scripted/echo: its text output is the rendered prompt, so the flow of values shows."""
    return node(node_id, "llm", inputs, config={"model": "scripted/echo", "prompt": prompt})


def with_body(
    node_id: str, type_: str, inputs: dict[str, Any], config: dict[str, Any], nodes: list[Any], edges: list[Any]
) -> dict[str, Any]:
    return node(node_id, type_, inputs, config=config, body={"nodes": nodes, "edges": edges})


def container_doc(container: dict[str, Any], outputs: dict[str, Any], input_type: str = "array") -> WorkflowDoc:
    return make_doc(
        [container, node("end", "end", outputs)],
        chain("start", container["id"], "end"),
        inputs=[{"name": "items", "type": input_type}],
    )


class Probe(NodeType[EmptyConfig]):
    """Sleeps for its ``delay`` input and counts how many probes run at once; fails on ``fail: true``."""

    type = "test_probe"
    running = 0
    most = 0

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: EmptyConfig) -> NodeResult:
        Probe.running += 1
        Probe.most = max(Probe.most, Probe.running)
        try:
            await asyncio.sleep(inputs["delay"])
        finally:
            Probe.running -= 1
        if inputs.get("fail"):
            raise ValueError(f"item {inputs['name']} is bad")
        return NodeResult(outputs={"name": inputs["name"]})


register(Probe)


async def test_loop_over_a_list_carries_a_variable_and_collects_each_iteration() -> None:
    body = [echo("step", "{{ acc }}{{ item }}", acc=ref("loop", "acc"), item=ref("loop", "item"))]
    loop = with_body(
        "loop",
        "loop",
        {"items": ref("start", "items"), "acc": ">"},
        {
            "variables": [{"name": "acc", "type": "string", "update": {"node": "step", "output": "text"}}],
            "collect": {"steps": {"node": "step", "output": "text"}},
        },
        body,
        [{"source": "loop", "target": "step", "source_handle": "body"}],
    )
    doc = container_doc(
        loop, {"acc": ref("loop", "acc"), "steps": ref("loop", "steps"), "n": ref("loop", "iterations")}
    )
    events = await run(doc, {"items": ["a", "b", "c"]})
    final = events[-1]
    assert isinstance(final, RunFinished), final
    assert final.outputs == {"acc": ">abc", "steps": [">a", ">ab", ">abc"], "n": 3}
    inner = [e for e in events if isinstance(e, NodeFinished) and e.node_id == "step"]
    assert [(e.path, e.index) for e in inner] == [(("loop",), 0), (("loop",), 1), (("loop",), 2)]


def _filtering_loop(mode: str = "list", **config: Any) -> WorkflowDoc:
    """Skips "skip" items (continue), stops at "stop" (break), collects the rest."""
    body = [
        node(
            "which",
            "condition",
            {"item": ref("loop", "item")},
            config={
                "cases": [
                    {"id": "skip", "conditions": [{"left": "item", "op": "==", "right": "skip"}]},
                    {"id": "stop", "conditions": [{"left": "item", "op": "==", "right": "stop"}]},
                ]
            },
        ),
        node("next", "continue"),
        node("out", "break"),
        echo("keep", "kept {{ item }}", item=ref("loop", "item")),
    ]
    edges = [
        {"source": "loop", "target": "which", "source_handle": "body"},
        {"source": "which", "target": "next", "source_handle": "skip"},
        {"source": "which", "target": "out", "source_handle": "stop"},
        {"source": "which", "target": "keep", "source_handle": "else"},
    ]
    collect = {"kept": {"node": "keep", "output": "text"}}
    loop = with_body(
        "loop", "loop", {"items": ref("start", "items")}, {"mode": mode, "collect": collect, **config}, body, edges
    )
    return container_doc(loop, {"kept": ref("loop", "kept"), "n": ref("loop", "iterations")})


async def test_continue_skips_the_rest_of_an_iteration_and_break_ends_the_loop() -> None:
    events = await run(_filtering_loop(), {"items": ["a", "skip", "b", "stop", "c"]})
    assert events[-1].outputs == {"kept": ["kept a", "kept b"], "n": 4}  # type: ignore[union-attr]
    ran = [e.index for e in events if isinstance(e, NodeFinished) and e.node_id == "keep"]
    assert ran == [0, 2]


async def test_loop_iterations_are_bounded() -> None:
    events = await run(_filtering_loop(max_iterations=3), {"items": ["a", "b", "c", "d"]})
    assert isinstance(events[-1], RunFailed)
    assert "4 items is more than max_iterations (3)" in events[-1].error


async def test_until_break_stops_at_the_break_and_fails_without_one() -> None:
    body = [
        node(
            "enough",
            "condition",
            {"i": ref("loop", "index")},
            config={"cases": [{"id": "yes", "conditions": [{"left": "i", "op": ">=", "right": 2}]}]},
        ),
        node("out", "break"),
        echo("tick", "tick {{ i }}", i=ref("loop", "index")),
    ]
    edges = [
        {"source": "loop", "target": "enough", "source_handle": "body"},
        {"source": "enough", "target": "out", "source_handle": "yes"},
        {"source": "enough", "target": "tick", "source_handle": "else"},
    ]
    collect = {"ticks": {"node": "tick", "output": "text"}}
    for bound, expected in ((10, ["tick 0", "tick 1"]), (2, None)):
        config = {"mode": "until_break", "max_iterations": bound, "collect": collect}
        loop = with_body("loop", "loop", {}, config, body, edges)
        events = await run(container_doc(loop, {"ticks": ref("loop", "ticks")}), {"items": []})
        if expected is None:
            assert isinstance(events[-1], RunFailed)
            assert "no break node ran within max_iterations (2)" in events[-1].error
        else:
            assert events[-1].outputs == {"ticks": expected}  # type: ignore[union-attr]


async def test_count_loop_runs_count_times() -> None:
    body = [echo("tick", "{{ i }}", i=ref("loop", "index"))]
    loop = with_body(
        "loop",
        "loop",
        {"count": ref("start", "items")},
        {"mode": "count", "collect": {"ticks": {"node": "tick", "output": "text"}}},
        body,
        [{"source": "loop", "target": "tick", "source_handle": "body"}],
    )
    events = await run(container_doc(loop, {"ticks": ref("loop", "ticks")}, "integer"), {"items": 3})
    assert events[-1].outputs == {"ticks": ["0", "1", "2"]}  # type: ignore[union-attr]


def _batch(concurrency: int, on_item_error: str = "fail") -> WorkflowDoc:
    body = [
        node(
            "probe",
            "test_probe",
            {"delay": ref("batch", "item.delay"), "name": ref("batch", "item.name"), "fail": ref("batch", "item.fail")},
        ),
        echo("say", "done {{ name }}", name=ref("probe", "name")),
    ]
    edges = [{"source": "batch", "target": "probe", "source_handle": "body"}, *chain("probe", "say")]
    config = {
        "concurrency": concurrency,
        "on_item_error": on_item_error,
        "collect": {"names": {"node": "probe", "output": "name"}, "said": {"node": "say", "output": "text"}},
    }
    batch = with_body("batch", "batch", {"items": ref("start", "items")}, config, body, edges)
    return container_doc(
        batch, {"names": ref("batch", "names"), "said": ref("batch", "said"), "errors": ref("batch", "errors")}
    )


async def test_batch_runs_at_most_concurrency_bodies_at_once_and_keeps_item_order() -> None:
    items = [{"name": f"n{i}", "delay": 0.05 - i * 0.008} for i in range(6)]  # the first item finishes last
    Probe.most = 0
    events = await run(_batch(concurrency=2), {"items": items})
    assert Probe.most == 2
    final = events[-1]
    assert isinstance(final, RunFinished), final
    assert final.outputs["names"] == [f"n{i}" for i in range(6)]
    assert final.outputs["said"] == [f"done n{i}" for i in range(6)]
    assert final.outputs["errors"] == []
    finished = [e.index for e in events if isinstance(e, NodeFinished) and e.node_id == "probe"]
    assert finished != sorted(finished)  # they did finish out of order

    Probe.most = 0
    await run(_batch(concurrency=6), {"items": items})
    assert Probe.most == 6


async def test_batch_failure_policy_fail_or_continue() -> None:
    items = [{"name": "a", "delay": 0}, {"name": "b", "delay": 0, "fail": True}, {"name": "c", "delay": 0.01}]
    failed = await run(_batch(concurrency=3), {"items": items})
    assert isinstance(failed[-1], RunFailed)
    assert "item 1 failed" in failed[-1].error and "item b is bad" in failed[-1].error

    events = await run(_batch(concurrency=3, on_item_error="continue"), {"items": items})
    outputs = events[-1].outputs  # type: ignore[union-attr]
    assert outputs["names"] == ["a", None, "c"]
    assert outputs["said"] == ["done a", None, "done c"]
    assert [e["index"] for e in outputs["errors"]] == [1]
    assert "item b is bad" in outputs["errors"][0]["message"]


class Workflows:
    """A workflow store by id, as the platform's resolver would be."""

    def __init__(self, docs: Mapping[str, WorkflowDoc]) -> None:
        self.docs = dict(docs)
        self.asked: list[tuple[str, str | None, Any]] = []

    async def get_workflow(
        self, workflow_id: str, version: str | None, system: Mapping[str, Any]
    ) -> WorkflowDoc | None:
        self.asked.append((workflow_id, version, dict(system)))
        return self.docs.get(workflow_id)


def _caller(workflow_id: str) -> WorkflowDoc:
    return make_doc(
        [
            node("sub", "sub_workflow", {"q": ref("start", "q")}, config={"workflow_id": workflow_id, "version": "2"}),
            node("end", "end", {"shout": ref("sub", "shout")}),
        ],
        chain("start", "sub", "end"),
    )


async def test_sub_workflow_runs_the_document_its_resolver_finds() -> None:
    child = make_doc(
        [echo("say", "{{ q }}!", q=ref("start", "q")), node("end", "end", {"shout": ref("say", "text")})],
        chain("start", "say", "end"),
    )
    store = Workflows({"child": child})
    events = [
        e
        async for e in run_workflow(
            _caller("child"), {"q": "hey"}, services=services(resolver=store), system={"user_id": "u1"}
        )
    ]
    assert events[-1].outputs == {"shout": "hey!"}  # type: ignore[union-attr]
    assert store.asked == [("child", "2", {"user_id": "u1"})]


async def test_sub_workflow_depth_is_limited_and_missing_workflows_are_named() -> None:
    store = Workflows({})
    store.docs["self"] = _caller("self")  # calls itself for ever
    events = await run(_caller("self"), {"q": "x"}, services(resolver=store))
    assert isinstance(events[-1], RunFailed)
    assert "nest deeper than 5 levels" in events[-1].error

    events = await run(_caller("nowhere"), {"q": "x"}, services(resolver=store))
    assert "no workflow 'nowhere' version 2" in events[-1].error  # type: ignore[union-attr]

    events = await run(_caller("child"), {"q": "x"}, services())
    assert isinstance(events[-1], RunFailed)
    assert "has no WorkflowResolver" in events[-1].error


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"collect": {"x": {"node": "elsewhere", "output": "text"}}}, "'elsewhere' is not a node of the body"),
        ({"collect": {"index": {"node": "step", "output": "text"}}}, "index name what the loop gives itself"),
    ],
)
async def test_loop_config_problems_are_reported(config: dict[str, Any], message: str) -> None:
    from plait.workflows import WorkflowInvalid

    loop = with_body(
        "loop", "loop", {"items": ref("start", "items")}, config, [echo("step", "x")],
        [{"source": "loop", "target": "step", "source_handle": "body"}],
    )  # fmt: skip
    with pytest.raises(WorkflowInvalid, match=message):
        await run(container_doc(loop, {}), {"items": []})
