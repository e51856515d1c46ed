"""Agent loop overhead: what a ReAct loop costs per step in Plait and in LangGraph's prebuilt ReAct agent, on the
same scripted work, in one process.

Each run is the same conversation on both sides: a scripted model calls the ``step`` tool 5 times, one call a
turn, then answers; the tool returns at once. Six model calls make six loop steps. The models' and the tool's
own work is timed alone too (the same conversations replayed straight into the model, the tool called
directly) and taken away, so what is left per step is the framework's: the loop, its state, its events.

    .venv/bin/python benchmarks/agents.py [--runs 1000] [--warmup 100] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.metadata
import statistics
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from _report import print_table, write_json
from plait.agents import Answered, ReactAgent, ToolResult
from plait.models.scripted import ScriptedChatModel
from plait.schema import Message, ToolSpec

TOOL_CALLS = 5
STEPS = TOOL_CALLS + 1  # model calls a run: one per tool call, then the answer
ANSWER = "done"
MIN_RATIO = 10.0  # target: LangGraph's overhead per step over Plait's
DEFAULT_JSON = Path(__file__).parent / "results" / "agents.json"

Call = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Side:
    """One framework's loop (``run``) and the same model and tool work without it (``work``)."""

    name: str
    version: str
    run: Call
    work: Call


@dataclass(frozen=True, slots=True)
class Figures:
    run_us: float  # median µs per run of the loop
    run_p90_us: float
    work_us: float  # median µs of the model's and tool's own work in a run
    step_us: float  # (run - work) / STEPS: the loop's overhead per step

    @classmethod
    def of(cls, runs: Sequence[int], work: Sequence[int]) -> Figures:
        run_us, work_us = statistics.median(runs) / 1_000, statistics.median(work) / 1_000
        p90 = statistics.quantiles(runs, n=10)[-1] / 1_000
        return cls(run_us, p90, work_us, (run_us - work_us) / STEPS)


# -- Plait ------------------------------------------------------------------------------------------------
class Step:
    """Plait's tool: returns at once, so a run's time is the loop's and the model's."""

    spec = ToolSpec(
        name="step",
        description="Take one step",
        parameters={"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    )

    async def call(self, arguments: Mapping[str, Any]) -> Any:
        return f"step {arguments['n']} taken"


def plait_side() -> Side:
    script = [ScriptedChatModel.tool_call("step", {"n": n}, call_id=f"call_{n}") for n in range(TOOL_CALLS)]
    model = ScriptedChatModel([*script, ANSWER], loop=True)
    agent = ReactAgent(model, tools=[Step()])
    tool = Step()

    async def run() -> None:
        async for event in agent.run([Message.user("go")]):
            last = event
        if not (isinstance(last, Answered) and last.message.text == ANSWER):
            raise RuntimeError(f"Plait's run ended with {last!r}")

    replay: list[list[Message]] = []

    async def work() -> None:
        if not replay:  # the first call checks a run and records the conversations the model answered in it
            outputs = [e.output async for e in agent.run([Message.user("go")]) if isinstance(e, ToolResult)]
            if outputs != [f"step {n} taken" for n in range(TOOL_CALLS)]:
                raise RuntimeError(f"Plait's tools returned {outputs}")
            replay.extend(model.calls[-STEPS:])
        for conversation in replay:
            async for _ in model.stream(conversation):
                pass
        for n in range(TOOL_CALLS):
            await tool.call({"n": n})

    return Side("Plait ReactAgent", importlib.metadata.version("plait"), run, work)


# -- LangGraph --------------------------------------------------------------------------------------------
def langgraph_side() -> Side | None:
    """LangGraph's prebuilt ReAct agent with a LangChain chat model scripted like Plait's, or None without it."""
    try:
        from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
        from langchain_core.language_models import BaseChatModel
        from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
        from langchain_core.outputs import ChatGeneration, ChatResult
        from langchain_core.tools import tool
        from langgraph.prebuilt import create_react_agent
    except ImportError:
        return None

    class ScriptedLangChainModel(BaseChatModel):
        """Calls ``step`` once a turn until it has TOOL_CALLS outputs, then answers: Plait's script, as a
        LangChain model. Records the conversations it answered, for the replay."""

        seen: ClassVar[list[list[BaseMessage]]] = []

        @property
        def _llm_type(self) -> str:
            return "scripted"

        def _reply(self, messages: list[BaseMessage]) -> ChatResult:
            self.seen.append(list(messages))
            done = sum(isinstance(m, ToolMessage) for m in messages)
            if done < TOOL_CALLS:
                call = {"name": "step", "args": {"n": done}, "id": f"call_{done}", "type": "tool_call"}
                message = AIMessage(content="", tool_calls=[call])
            else:
                message = AIMessage(content=ANSWER)
            return ChatResult(generations=[ChatGeneration(message=message)])

        def _generate(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: CallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> ChatResult:
            return self._reply(messages)

        async def _agenerate(
            self,
            messages: list[BaseMessage],
            stop: list[str] | None = None,
            run_manager: AsyncCallbackManagerForLLMRun | None = None,
            **kwargs: Any,
        ) -> ChatResult:
            return self._reply(messages)

        def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedLangChainModel:
            return self  # the script knows its tool; binding changes nothing it does

    @tool
    async def step(n: int) -> str:
        """Take one step."""
        return f"step {n} taken"

    model = ScriptedLangChainModel()
    with warnings.catch_warnings():  # create_react_agent is deprecated for langchain's create_agent, not installed
        warnings.simplefilter("ignore")
        app = create_react_agent(model, [step])
    question = {"messages": [HumanMessage("go")]}
    replay: list[list[BaseMessage]] = []

    async def run() -> None:
        state = await app.ainvoke(question)
        if state["messages"][-1].content != ANSWER:
            raise RuntimeError(f"LangGraph's run ended with {state['messages'][-1]!r}")

    async def work() -> None:
        if not replay:  # as Plait's: check a run, record what the model answered
            model.seen.clear()
            state = await app.ainvoke(question)
            outputs = [m.content for m in state["messages"] if isinstance(m, ToolMessage)]
            if outputs != [f"step {n} taken" for n in range(TOOL_CALLS)]:
                raise RuntimeError(f"LangGraph's tools returned {outputs}")
            replay.extend(model.seen[-STEPS:])
        for conversation in replay:
            await model._agenerate(conversation)
        for n in range(TOOL_CALLS):
            await step.coroutine(n=n)  # type: ignore[attr-defined]

    return Side("LangGraph create_react_agent", importlib.metadata.version("langgraph"), run, work)


# -- measuring ------------------------------------------------------------------------------------------
async def timed(call: Call, runs: int, warmup: int) -> list[int]:
    """Nanoseconds of each of ``runs`` awaited calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        await call()
    clock = time.perf_counter_ns
    samples: list[int] = []
    gc.collect()  # each loop starts from the same heap: one side's garbage is not billed to the other
    for _ in range(runs):
        started = clock()
        await call()
        samples.append(clock() - started)
    return samples


async def measure(side: Side, runs: int, warmup: int) -> Figures:
    await side.work()  # checks a run and records what to replay, before anything is timed
    figures = Figures.of(await timed(side.run, runs, warmup), await timed(side.work, runs, warmup))
    print(f"  {side.name}: {figures.step_us:,.1f} µs per step", file=sys.stderr, flush=True)
    return figures


async def main(runs: int, warmup: int, json_path: Path) -> None:
    sides = [plait_side()]
    langgraph = langgraph_side()
    if langgraph is None:
        print("langgraph is not importable (pip install -e '.[bench]'): Plait alone, ratio n/a", file=sys.stderr)
    else:
        sides.append(langgraph)
    print(f"agent loop overhead: {TOOL_CALLS} tool calls + an answer = {STEPS} steps a run, {runs} runs")
    figures = {side.name: await measure(side, runs, warmup) for side in sides}
    plait = figures[sides[0].name]
    ratio = None if langgraph is None else figures[langgraph.name].step_us / plait.step_us
    print_table(
        f"ReAct loop, µs (medians of {runs} runs; overhead per step = (run - model and tool work) / {STEPS})",
        ["agent", "version", "run", "run p90", "model + tool work", "overhead per step"],
        [
            [side.name, side.version, *(f"{value:,.1f}" for value in asdict(figures[side.name]).values())]
            for side in sides
        ],
    )
    verdict = "n/a" if ratio is None else ("PASS" if ratio >= MIN_RATIO else "FAIL")
    shown = "n/a" if ratio is None else f"{ratio:,.1f}x"
    print(f"overhead per step, LangGraph / Plait: {shown} (target ≥ {MIN_RATIO:g}x: {verdict})")
    written = write_json(
        json_path,
        {
            "benchmark": "agents",
            "settings": {"runs": runs, "warmup": warmup, "tool_calls": TOOL_CALLS, "steps": STEPS, "unit": "µs"},
            "versions": {side.name: side.version for side in sides},
            "figures": {name: asdict(value) for name, value in figures.items()},
            "ratio": ratio,
            "target": {"min_ratio": MIN_RATIO, "passed": None if ratio is None else ratio >= MIN_RATIO},
        },
    )
    print(f"results: {written}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000, help="timed runs per side (default 1000)")
    parser.add_argument("--warmup", type=int, default=100, help="untimed runs first (default 100)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 runs, 10 warm-up")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    args = parser.parse_args()
    runs, warmup = (100, 10) if args.quick else (args.runs, args.warmup)
    if runs < 2 or warmup < 0:
        parser.error("--runs must be at least 2 (a p90 needs two samples) and --warmup at least 0")
    asyncio.run(main(runs, warmup, args.json))
