"""The engine: branches, error policies, retries, timeouts, events with timings, stream mode, interrupts and
resume, container bodies."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import pytest
from wf_helpers import chain, collect, make_doc, node, ref, services

from plait.workflows import (
    Interrupted,
    MemoryRunStore,
    MessageOut,
    NodeChunk,
    NodeFailed,
    NodeFinished,
    NodeStarted,
    RunFailed,
    RunFinished,
    WorkflowInputError,
    resume_workflow,
)
from plait.workflows.nodes import NodeConfig, NodeContext, NodeResult, NodeType, register


class FlakyConfig(NodeConfig):
    failures: int = 0
    sleep: float = 0.0


class Flaky(NodeType[FlakyConfig]):
    """Fails its first ``failures`` attempts per run id, sleeps, then answers with its attempt count."""

    type = "test_flaky"
    Config = FlakyConfig
    attempts: ClassVar[dict[str, int]] = {}

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: FlakyConfig) -> NodeResult:
        key = f"{ctx.run_id}/{ctx.node_id}"
        self.attempts[key] = self.attempts.get(key, 0) + 1
        if config.sleep:
            await asyncio.sleep(config.sleep)
        if self.attempts[key] <= config.failures:
            raise ConnectionError(f"attempt {self.attempts[key]} failed")
        return NodeResult(outputs={"attempts": self.attempts[key], **inputs})


class Ask(NodeType[NodeConfig]):
    """Asks a question through ``ctx.interrupt`` and outputs the answer; counts its runs."""

    type = "test_ask"
    runs: ClassVar[int] = 0

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: NodeConfig) -> NodeResult:
        Ask.runs += 1
        return NodeResult(outputs={"answer": ctx.interrupt("question", {"text": inputs.get("text")})})


class Repeat(NodeType[NodeConfig]):
    """A container: runs its body for each item of ``items`` until a body node breaks."""

    type = "test_repeat"
    container = True

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: NodeConfig) -> NodeResult:
        results = []
        for item in inputs["items"]:
            iteration = await ctx.run_body({"item": item})
            results.append(iteration.outputs["double"]["output"])
            if iteration.control == "break":
                break
        return NodeResult(outputs={"results": results})


class Stop(NodeType[NodeConfig]):
    type = "test_break"

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: NodeConfig) -> NodeResult:
        return NodeResult(control="break")


for kind in (Flaky, Ask, Repeat, Stop):
    register(kind)


def finished(events: list[Any]) -> dict[str, NodeFinished]:
    return {e.node_id: e for e in events if isinstance(e, NodeFinished)}


def started(events: list[Any]) -> list[str]:
    return [e.node_id for e in events if isinstance(e, NodeStarted)]


def branching_doc(on_error: dict[str, Any] | None = None) -> Any:
    cases = [
        {"id": "big", "conditions": [{"left": "n", "op": ">", "right": 100}]},
        {"id": "mid", "conditions": [{"left": "n", "op": ">", "right": 10}, {"left": "n", "op": "<=", "right": 100}]},
    ]
    nodes = [
        node("cond", "condition", {"n": ref("start", "n")}, config={"cases": cases}),
        node("a", "text", {"text": "big"}, config={"op": "upper"}),
        node("b", "text", {"text": "mid"}, config={"op": "upper"}),
        node("c", "text", {"text": "small"}, config={"op": "upper"}),
        node(
            "join",
            "variable_aggregate",
            {"x": ref("a", "output"), "y": ref("b", "output"), "z": ref("c", "output")},
        ),
        node("end", "end", {"size": ref("join", "output")}),
    ]
    edges = [
        {"source": "start", "target": "cond"},
        {"source": "cond", "target": "a", "source_handle": "big"},
        {"source": "cond", "target": "b", "source_handle": "mid"},
        {"source": "cond", "target": "c", "source_handle": "else"},
        *chain("a", "join"),
        *chain("b", "join"),
        *chain("c", "join", "end"),
    ]
    return make_doc(nodes, edges, inputs=[{"name": "n", "type": "integer"}])


@pytest.mark.parametrize(("n", "ran", "size"), [(500, "a", "BIG"), (50, "b", "MID"), (5, "c", "SMALL")])
async def test_a_condition_runs_one_branch_and_the_join_reads_it(n: int, ran: str, size: str) -> None:
    events = await collect(branching_doc(), {"n": n})
    assert {"a", "b", "c"} & set(started(events)) == {ran}
    assert events[-1] == RunFinished(run_id=events[-1].run_id, outputs={"size": size}, duration=events[-1].duration)
    assert finished(events)["cond"].branch == {"a": "big", "b": "mid", "c": "else"}[ran]


async def test_node_events_carry_inputs_outputs_and_timings() -> None:
    doc = make_doc(
        [
            node("up", "text", {"text": ref("start", "q")}, config={"op": "upper"}),
            node("end", "end", {"r": ref("up", "output")}),
        ],
        chain("start", "up", "end"),
    )
    before = time.time()
    events = await collect(doc, {"q": "hey"})
    assert [type(e).__name__ for e in events] == ["NodeStarted", "NodeFinished"] * 3 + ["RunFinished"]
    start_event = next(e for e in events if isinstance(e, NodeStarted) and e.node_id == "up")
    assert start_event.inputs == {"text": "hey"} and start_event.node_type == "text"
    done = finished(events)["up"]
    assert done.outputs == {"output": "HEY"} and done.inputs == {"text": "hey"}
    assert before <= done.started_at <= time.time() and 0 < done.duration < 1
    assert done.status == "succeeded" and done.attempts == 1
    assert events[-1].outputs == {"r": "HEY"}


def failing_doc(on_error: dict[str, Any], extra_edges: list[dict[str, Any]] = ()) -> Any:  # type: ignore[assignment]
    nodes = [
        node("flaky", "test_flaky", {"v": 1}, config={"failures": 9}, on_error=on_error),
        node("ok", "text", {"text": "fine"}, config={"op": "upper"}),
        node("fix", "text", {"text": ref("flaky", "error.message")}, config={"op": "lower"}),
        node("end", "end", {"ok": ref("ok", "output"), "fix": ref("fix", "output"), "v": ref("flaky", "v")}),
    ]
    edges = [*chain("start", "flaky"), *extra_edges, *chain("ok", "end"), *chain("fix", "end")]
    return make_doc(nodes, edges)


async def test_a_failing_node_fails_the_run_by_default() -> None:
    events = await collect(failing_doc({"mode": "fail"}, [*chain("flaky", "ok"), *chain("flaky", "fix")]), {"q": "x"})
    failed = next(e for e in events if isinstance(e, NodeFailed))
    assert failed.node_id == "flaky" and failed.error == "attempt 1 failed" and failed.error_type == "ConnectionError"
    assert isinstance(events[-1], RunFailed) and events[-1].node_id == "flaky"
    assert "node flaky failed: attempt 1 failed" in events[-1].error
    assert "ok" not in started(events)


async def test_a_default_policy_goes_on_with_default_outputs() -> None:
    policy = {"mode": "default", "default": {"v": 42}}
    events = await collect(failing_doc(policy, [*chain("flaky", "ok"), *chain("flaky", "fix")]), {"q": "x"})
    done = finished(events)["flaky"]
    assert done.status == "defaulted" and done.outputs["v"] == 42 and done.error == "attempt 1 failed"
    assert events[-1].outputs == {"ok": "FINE", "fix": "attempt 1 failed", "v": 42}


async def test_an_error_branch_takes_the_error_edges_only() -> None:
    edges = [*chain("flaky", "ok"), {"source": "flaky", "target": "fix", "source_handle": "error"}]
    events = await collect(failing_doc({"mode": "branch"}, edges), {"q": "x"})
    assert finished(events)["flaky"].status == "error_branch"
    assert "ok" not in started(events)
    assert events[-1].outputs == {"ok": None, "fix": "attempt 1 failed", "v": None}


async def test_retries_then_success() -> None:
    doc = make_doc(
        [
            node("flaky", "test_flaky", config={"failures": 2}, retry={"max_attempts": 3, "delay": 0.01}),
            node("end", "end"),
        ],
        chain("start", "flaky", "end"),
    )
    events = await collect(doc, {"q": "x"})
    assert finished(events)["flaky"].attempts == 3 and finished(events)["flaky"].outputs["attempts"] == 3
    assert isinstance(events[-1], RunFinished)


async def test_retries_exhausted_fail_with_the_attempt_count() -> None:
    doc = make_doc(
        [node("flaky", "test_flaky", config={"failures": 5}, retry={"max_attempts": 2}), node("end", "end")],
        chain("start", "flaky", "end"),
    )
    events = await collect(doc, {"q": "x"})
    failed = next(e for e in events if isinstance(e, NodeFailed))
    assert failed.attempts == 2 and failed.error == "attempt 2 failed"


async def test_a_timeout_fails_the_node_per_attempt() -> None:
    doc = make_doc(
        [node("slow", "test_flaky", config={"sleep": 5}, timeout=0.05, retry={"max_attempts": 2}), node("end", "end")],
        chain("start", "slow", "end"),
    )
    began = time.perf_counter()
    events = await collect(doc, {"q": "x"})
    failed = next(e for e in events if isinstance(e, NodeFailed))
    assert failed.error == "timed out after 0.05s" and failed.attempts == 2
    assert time.perf_counter() - began < 1


async def test_parallel_branches_run_concurrently() -> None:
    doc = make_doc(
        [
            node("x", "test_flaky", config={"sleep": 0.2}),
            node("y", "test_flaky", config={"sleep": 0.2}),
            node("end", "end", {"x": ref("x", "attempts"), "y": ref("y", "attempts")}),
        ],
        [*chain("start", "x", "end"), *chain("start", "y", "end")],
    )
    began = time.perf_counter()
    events = await collect(doc, {"q": "x"})
    assert time.perf_counter() - began < 0.35
    assert events[-1].outputs == {"x": 1, "y": 1}


async def test_stream_mode_streams_model_tokens_and_the_answer() -> None:
    doc = make_doc(
        [
            node("llm", "llm", {"q": ref("start", "q")}, config={"model": "scripted/echo", "prompt": "{{ q }}"}),
            node("end", "end", {"t": ref("llm", "text")}, config={"mode": "answer", "template": "A:\n{{ t }}"}),
        ],
        chain("start", "llm", "end"),
    )
    events = await collect(doc, {"q": "three small words"}, stream=True)
    chunks = [e.chunk for e in events if isinstance(e, NodeChunk)]
    assert len(chunks) == 3 and "".join(chunks) == "three small words"
    pieces = [e for e in events if isinstance(e, MessageOut)]
    assert [p.content for p in pieces] == ["A:\n", "three small words"] and [p.stream_end for p in pieces] == [
        False,
        True,
    ]
    assert len({p.message_id for p in pieces}) == 1
    assert events[-1].answer == "A:\nthree small words"


async def test_an_interrupt_pauses_and_resume_does_not_rerun_finished_nodes() -> None:
    doc = make_doc(
        [
            node("before", "test_flaky"),
            node("ask", "test_ask", {"text": ref("start", "q")}),
            node("side", "test_flaky"),
            node("end", "end", {"answer": ref("ask", "answer"), "before": ref("before", "attempts")}),
        ],
        [*chain("start", "before", "ask", "end"), *chain("start", "side", "end")],
    )
    store = MemoryRunStore()
    Ask.runs = 0
    events = await collect(doc, {"q": "name?"}, checkpointer=store, run_id="r1")
    paused = [e for e in events if isinstance(e, Interrupted)]
    assert len(paused) == 1 and paused[0].data == {"text": "name?"} and paused[0].kind == "question"
    assert not any(isinstance(e, RunFinished | RunFailed) for e in events) and "end" not in started(events)
    assert ("r1", "node", "side") in store.saves and ("r1", "interrupt", None) in store.saves
    state = await store.load("r1")
    assert state is not None and state.status == "interrupted" and set(state.nodes) == {"start", "before", "side"}

    resumed = [e async for e in resume_workflow(doc, "r1", "Ada", checkpointer=store, services=services())]
    assert started(resumed) == ["ask", "end"]
    assert resumed[-1].outputs == {"answer": "Ada", "before": 1}
    assert Flaky.attempts["r1/before"] == 1 and Ask.runs == 2
    with pytest.raises(WorkflowInputError, match="already succeeded"):
        [e async for e in resume_workflow(doc, "r1", "again", checkpointer=store)]


async def test_a_container_runs_its_body_per_item_until_break() -> None:
    body = {
        "nodes": [
            node("double", "text", {"x": ref("loop", "item")}, config={"op": "concat", "template": "{{ x * 2 }}"}),
            node(
                "check",
                "condition",
                {"x": ref("loop", "item")},
                config={"cases": [{"conditions": [{"left": "x", "op": ">=", "right": 3}]}]},
            ),
            node("stop", "test_break"),
        ],
        "edges": [
            {"source": "loop", "target": "double", "source_handle": "body"},
            *chain("double", "check"),
            {"source": "check", "target": "stop", "source_handle": "if"},
            {"source": "check", "target": "loop", "source_handle": "else"},
            {"source": "stop", "target": "loop"},
        ],
    }
    doc = make_doc(
        [
            node("loop", "test_repeat", {"items": [1, 2, 3, 4]}, body=body),
            node("end", "end", {"r": ref("loop", "results")}),
        ],
        chain("start", "loop", "end"),
    )
    events = await collect(doc, {"q": "x"})
    assert events[-1].outputs == {"r": ["2", "4", "6"]}
    inner = [e for e in events if isinstance(e, NodeFinished) and e.node_id == "double"]
    assert [(e.path, e.index) for e in inner] == [(("loop",), 0), (("loop",), 1), (("loop",), 2)]


async def test_bad_inputs_are_refused_before_the_run_with_every_problem() -> None:
    doc = make_doc(
        [node("end", "end")], chain("start", "end"), inputs=[{"name": "n", "type": "integer"}, {"name": "s"}]
    )
    with pytest.raises(WorkflowInputError) as caught:
        await collect(doc, {"n": "seven", "extra": 1})
    message = str(caught.value)
    assert (
        "n: should be integer, got string" in message
        and "s: required" in message
        and "extra: not a parameter" in message
    )
