"""Compose overhead: what running a graph costs in Plait and in LangGraph, on the same graphs, in one process.

The nodes only add one to a counter, so each invoke's latency is the framework's own cost. That cost is
what decides whether splitting an application into many small graph steps is free, so it has targets:
per node, per invoke, with a checkpointer, and against LangGraph.

    .venv/bin/python benchmarks/compose_overhead.py [--n 2000] [--warmup 200] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.metadata
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypedDict

from _report import print_table, write_json
from plait.compose import END, START, Graph, MemoryCheckpointer

Call = Callable[[], Awaitable[Any]]

DEFAULT_N = 2_000
DEFAULT_WARMUP = 200
QUICK_N = 200
QUICK_WARMUP = 20
DEFAULT_JSON = Path(__file__).parent / "results" / "compose_overhead.json"

LONG = 10  # nodes in the long linear graph; the short one has 1, and the difference gives the cost per node
BRANCHES = ("b1", "b2", "b3", "b4", "b5")

# Targets for Plait: microseconds, from medians, and the LangGraph/Plait latency ratio on every row.
MAX_NODE_US = 15.0
MAX_FIXED_US = 50.0
MAX_CHECKPOINT_NODE_US = 30.0
MIN_RATIO = 20.0


class Counter(TypedDict):
    counter: int


class FanState(TypedDict, total=False):
    """LangGraph's state for the fan-out: one key per branch, so parallel writes never clash."""

    counter: int
    b1: int
    b2: int
    b3: int
    b4: int
    b5: int


# -- the work: the same functions in both frameworks ------------------------------------------------------
def bump(state: Mapping[str, int]) -> dict[str, int]:
    return {"counter": state["counter"] + 1}


async def abump(state: Mapping[str, int]) -> dict[str, int]:
    """``bump`` as a coroutine: the fair row for LangGraph, which sends sync nodes to a thread pool."""
    return {"counter": state["counter"] + 1}


def branch_node(key: str) -> Callable[[Mapping[str, int]], dict[str, int]]:
    """A fan-out branch writing its own key: Plait merges the outputs, LangGraph folds them into FanState."""

    def branch(state: Mapping[str, int]) -> dict[str, int]:
        return {key: state["counter"] + 1}

    return branch


def join(state: Mapping[str, int]) -> dict[str, int]:
    return {"counter": sum(state[key] for key in BRANCHES)}


# -- the shapes: wired by the same code, since both builders have add_node/add_edge -----------------------
def wire_linear(graph: Any, nodes: int, start: str, end: str, node: Callable[..., Any] = bump) -> Any:
    previous = start
    for index in range(nodes):
        name = f"n{index}"
        graph.add_node(name, node)
        graph.add_edge(previous, name)
        previous = name
    graph.add_edge(previous, end)
    return graph


def wire_fanout(graph: Any, start: str, end: str) -> Any:
    """START -> a -> b1..b5 in parallel -> join -> END."""
    graph.add_node("a", bump)
    graph.add_edge(start, "a")
    graph.add_node("join", join)
    for key in BRANCHES:
        graph.add_node(key, branch_node(key))
        graph.add_edge("a", key)
        graph.add_edge(key, "join")
    graph.add_edge("join", end)
    return graph


async def drain(stream: AsyncIterable[Any]) -> list[Any]:
    return [chunk async for chunk in stream]


def new_input() -> dict[str, int]:
    return {"counter": 0}


# -- workloads ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Workload:
    call: Call
    expect: int  # the counter the run must end with: checked once, so a broken graph is never timed


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    plait: Workload
    baseline: str  # the LangGraph workload this row is compared with


def plait_rows() -> list[Row]:
    def linear(nodes: int, *, state: bool = False, checkpoint: bool = False, node: Callable[..., Any] = bump) -> Any:
        graph = wire_linear(Graph(state=Counter if state else None), nodes, START, END, node)
        return graph.compile(checkpointer=MemoryCheckpointer() if checkpoint else None)

    def invoke(graph: Any, expect: int) -> Workload:
        return Workload(lambda: graph.ainvoke(new_input()), expect)

    streamed = linear(LONG)
    fanout = wire_fanout(Graph(), START, END).compile()
    return [
        Row("linear10", f"data-flow: linear, {LONG} nodes", invoke(linear(LONG), LONG), "linear10"),
        Row("linear1", "data-flow: linear, 1 node", invoke(linear(1), 1), "linear1"),
        Row(
            "stream10",
            f"data-flow: linear, {LONG} nodes, astream",
            Workload(lambda: drain(streamed.astream(new_input())), LONG),
            "stream10",
        ),
        Row(
            "checkpoint10",
            f"data-flow: linear, {LONG} nodes, memory checkpointer",
            invoke(linear(LONG, checkpoint=True), LONG),
            "checkpoint10",
        ),
        Row(
            "checkpoint1",
            "data-flow: linear, 1 node, memory checkpointer",
            invoke(linear(1, checkpoint=True), 1),
            "checkpoint1",
        ),
        Row("fanout", "data-flow: fan-out 5 + join (7 nodes)", invoke(fanout, 2 * len(BRANCHES)), "fanout"),
        Row(
            "async_linear10",
            f"data-flow: linear, {LONG} async nodes",
            invoke(linear(LONG, node=abump), LONG),
            "async_linear10",
        ),
        Row("async_linear1", "data-flow: linear, 1 async node", invoke(linear(1, node=abump), 1), "async_linear1"),
        Row("state_linear10", f"state graph: linear, {LONG} nodes", invoke(linear(LONG, state=True), LONG), "linear10"),
        Row("state_linear1", "state graph: linear, 1 node", invoke(linear(1, state=True), 1), "linear1"),
        Row(
            "state_checkpoint10",
            f"state graph: linear, {LONG} nodes, memory checkpointer",
            invoke(linear(LONG, state=True, checkpoint=True), LONG),
            "checkpoint10",
        ),
        Row(
            "state_checkpoint1",
            "state graph: linear, 1 node, memory checkpointer",
            invoke(linear(1, state=True, checkpoint=True), 1),
            "checkpoint1",
        ),
    ]


def langgraph_workloads() -> tuple[str, dict[str, Workload]] | None:
    """LangGraph's side of every row (its version and workloads), or None when it is not installed."""
    try:
        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.graph import END as LG_END
        from langgraph.graph import START as LG_START
        from langgraph.graph import StateGraph
    except ImportError:
        return None

    def linear(nodes: int, *, checkpoint: bool = False, node: Callable[..., Any] = bump) -> Any:
        graph = wire_linear(StateGraph(Counter), nodes, LG_START, LG_END, node)
        return graph.compile(checkpointer=InMemorySaver() if checkpoint else None)

    def invoke(app: Any, expect: int) -> Workload:
        return Workload(lambda: app.ainvoke(new_input()), expect)

    def invoke_thread(app: Any, expect: int) -> Workload:
        """A fresh thread per invoke, as Plait makes a fresh run id: every run writes its own checkpoints."""
        return Workload(
            lambda: app.ainvoke(new_input(), config={"configurable": {"thread_id": uuid.uuid4().hex}}), expect
        )

    streamed = linear(LONG)
    workloads = {
        "linear10": invoke(linear(LONG), LONG),
        "linear1": invoke(linear(1), 1),
        "stream10": Workload(lambda: drain(streamed.astream(new_input())), LONG),
        "checkpoint10": invoke_thread(linear(LONG, checkpoint=True), LONG),
        "checkpoint1": invoke_thread(linear(1, checkpoint=True), 1),
        "fanout": invoke(wire_fanout(StateGraph(FanState), LG_START, LG_END).compile(), 2 * len(BRANCHES)),
        "async_linear10": invoke(linear(LONG, node=abump), LONG),
        "async_linear1": invoke(linear(1, node=abump), 1),
    }
    return importlib.metadata.version("langgraph"), workloads


# -- measuring ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Stats:
    median_us: float
    p90_us: float


def final_counter(result: Any) -> int:
    """The counter a run ended with, from its output or its streamed chunks.

    Plait streams the graph's output; LangGraph's default stream mode gives one ``{node: update}`` per node.
    """
    if isinstance(result, list):
        result = result[-1]
        if "counter" not in result:
            (result,) = result.values()
    return int(result["counter"])


async def measure(name: str, workload: Workload, n: int, warmup: int) -> Stats:
    """Latency of ``n`` awaited invokes after ``warmup`` ones, each timed on its own."""
    got = final_counter(await workload.call())
    if got != workload.expect:
        raise RuntimeError(f"{name}: the run ended with counter {got}, expected {workload.expect}")
    for _ in range(warmup):
        await workload.call()
    call, clock = workload.call, time.perf_counter_ns
    samples: list[int] = []
    gc.collect()  # start every loop from the same heap, so one workload's garbage is not billed to the next
    for _ in range(n):
        started = clock()
        await call()
        samples.append(clock() - started)
    stats = Stats(statistics.median(samples) / 1_000, statistics.quantiles(samples, n=10)[-1] / 1_000)
    print(f"  {name}: median {stats.median_us:,.1f} µs, p90 {stats.p90_us:,.1f} µs", file=sys.stderr, flush=True)
    return stats


@dataclass(frozen=True, slots=True)
class Costs:
    """Per-node and per-invoke costs in µs, derived from medians of the 1-node and 10-node graphs."""

    node_marginal: float
    fixed: float
    checkpoint_node: float
    checkpoint_node_marginal: float

    @classmethod
    def derive(cls, stats: Mapping[str, Stats], prefix: str = "") -> Costs:
        def median(key: str) -> float:
            return stats[prefix + key].median_us

        marginal = (median("linear10") - median("linear1")) / (LONG - 1)
        return cls(
            node_marginal=marginal,
            fixed=median("linear1") - marginal,
            checkpoint_node=median("checkpoint10") / LONG,
            checkpoint_node_marginal=(median("checkpoint10") - median("checkpoint1")) / (LONG - 1),
        )


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    subject: str
    value: float | None
    limit: float
    at_least: bool  # the value must reach the limit (a ratio) rather than stay under it (a cost)

    @property
    def passed(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


def us(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}x"


FLAVOURS = {"data-flow": "", "state graph": "state_"}  # Plait flavour -> prefix of its row keys
COST_FIGURES: list[tuple[str, str, float | None]] = [  # label, Costs field, Plait target
    (f"µs per node, marginal = (m{LONG} - m1) / {LONG - 1}", "node_marginal", MAX_NODE_US),
    ("fixed µs per invoke = m1 - marginal", "fixed", MAX_FIXED_US),
    (f"µs per node, checkpointer = m{LONG} / {LONG}", "checkpoint_node", MAX_CHECKPOINT_NODE_US),
    ("µs per node, checkpointer, marginal", "checkpoint_node_marginal", None),
]
NOTES = (
    "Plait rows: data-flow graphs (a node gets its predecessor's output) or state graphs (Graph(state=...));",
    "LangGraph is a StateGraph in every row, so both Plait flavours are compared with the same measurement.",
    "Nodes are sync functions: under ainvoke LangGraph runs them in its thread pool, Plait calls them inline.",
    "astream: Plait streams the graph's output, LangGraph yields one update per node (its default mode).",
)


async def run(n: int, warmup: int, json_path: Path) -> None:
    rows = plait_rows()
    langgraph = langgraph_workloads()
    if langgraph is None:
        print(
            "langgraph is not importable (install the bench extra: pip install -e '.[bench]'); "
            "reporting Plait alone, ratios n/a.",
            file=sys.stderr,
        )
    lg_version, lg_workloads = langgraph or (None, {})
    plait_version = importlib.metadata.version("plait")
    print(f"compose overhead: n={n}, warm-up={warmup}, plait {plait_version}, langgraph {lg_version or 'n/a'}")

    plait: dict[str, Stats] = {}
    lg: dict[str, Stats] = {}
    for row in rows:  # a LangGraph workload runs right after the first Plait row using it: drift hits both alike
        plait[row.key] = await measure(f"Plait {row.label}", row.plait, n, warmup)
        if lg_workloads and row.baseline not in lg:
            lg[row.baseline] = await measure(f"LangGraph {row.baseline}", lg_workloads[row.baseline], n, warmup)

    compared: dict[str, Stats | None] = {row.key: lg.get(row.baseline) for row in rows}
    ratios = {key: None if other is None else other.median_us / plait[key].median_us for key, other in compared.items()}
    ratio_targets = {row.key: Target("LangGraph/Plait", row.label, ratios[row.key], MIN_RATIO, True) for row in rows}
    table = []
    for row in rows:
        mine, other = plait[row.key], compared[row.key]
        table.append(
            [
                row.label,
                us(mine.median_us),
                us(mine.p90_us),
                us(None if other is None else other.median_us),
                us(None if other is None else other.p90_us),
                times(ratios[row.key]),
                ratio_targets[row.key].verdict,
            ]
        )
    print_table(
        f"Latency per invoke, µs, n={n} (ratio: LangGraph median / Plait median)",
        ["workload", "Plait median", "Plait p90", "LangGraph median", "LangGraph p90", "ratio", f"≥ {MIN_RATIO:g}x"],
        table,
    )

    costs = {flavour: Costs.derive(plait, prefix) for flavour, prefix in FLAVOURS.items()}
    lg_costs = Costs.derive(lg) if lg else None
    cost_targets: dict[tuple[str, str], Target] = {}
    table = []
    for label, field, limit in COST_FIGURES:
        line = [label, *(us(getattr(costs[flavour], field)) for flavour in FLAVOURS)]
        line.append(us(None if lg_costs is None else getattr(lg_costs, field)))
        line.append("" if limit is None else f"≤ {limit:g}")
        for flavour in FLAVOURS:
            if limit is None:
                line.append("")
                continue
            target = cost_targets[field, flavour] = Target(label, flavour, getattr(costs[flavour], field), limit, False)
            line.append(target.verdict)
        table.append(line)
    print_table(
        f"Costs, µs (m{LONG}, m1: medians of the {LONG}-node and 1-node linear graphs)",
        ["figure", *(f"Plait {flavour}" for flavour in FLAVOURS), "LangGraph", "Plait target", *FLAVOURS],
        table,
    )
    for note in NOTES:
        print(note)

    targets = [*cost_targets.values(), *ratio_targets.values()]
    checked = [t for t in targets if t.passed is not None]
    failed = [t for t in checked if not t.passed]
    print(f"targets: {len(checked) - len(failed)}/{len(checked)} pass, {len(targets) - len(checked)} n/a")
    for t in failed:
        print(f"  FAIL {t.subject}: {t.name} = {t.value:,.1f}, limit {t.limit:g}")

    written = write_json(
        json_path,
        {
            "benchmark": "compose_overhead",
            "settings": {"n": n, "warmup": warmup, "unit": "µs per invoke"},
            "versions": {"plait": plait_version, "langgraph": lg_version},
            "rows": [
                {
                    "key": row.key,
                    "label": row.label,
                    "plait": asdict(plait[row.key]),
                    "langgraph": None if (other := compared[row.key]) is None else asdict(other),
                    "ratio": ratios[row.key],
                }
                for row in rows
            ],
            "costs": {
                **{f"plait {flavour}": asdict(flavour_costs) for flavour, flavour_costs in costs.items()},
                "langgraph": None if lg_costs is None else asdict(lg_costs),
            },
            "targets": [{**asdict(t), "passed": t.passed} for t in targets],
        },
    )
    print(f"results: {written}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, help=f"timed invokes per workload (default {DEFAULT_N})")
    parser.add_argument("--warmup", type=int, help=f"untimed invokes first (default {DEFAULT_WARMUP})")
    parser.add_argument(
        "--quick", action="store_true", help=f"smoke run: n={QUICK_N}, warm-up {QUICK_WARMUP} unless given"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    args = parser.parse_args()
    n = args.n if args.n is not None else (QUICK_N if args.quick else DEFAULT_N)
    warmup = args.warmup if args.warmup is not None else (QUICK_WARMUP if args.quick else DEFAULT_WARMUP)
    if n < 2 or warmup < 0:
        parser.error("--n must be at least 2 (a p90 needs two samples) and --warmup at least 0")
    asyncio.run(run(n, warmup, args.json))


if __name__ == "__main__":
    main()
