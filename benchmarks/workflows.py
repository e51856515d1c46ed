"""Workflow overhead: what the workflow engine adds per node, on a 50-node workflow of cheap nodes.

The nodes are text nodes (``upper`` on a short string), so a run's latency is the engine's own cost: resolving
references, events, records, branches, the compose graph under it. Per node = (50-node run - 2-node run) / 48,
from medians. Targets: under 100 µs per node without database checkpoints, events followed.

Checkpointers are rows of ``CHECKPOINTERS``: ``none`` and ``memory`` (``MemoryRunStore``, JSON per save) are here;
the durable-runs side adds its database checkpointer by registering a factory under a name there (see
``register_checkpointer``) to get the with-checkpoints figure in the same table.

    .venv/bin/python benchmarks/workflows.py [--n 300] [--warmup 30] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _report import print_table, write_json
from plait.workflows import CompiledWorkflow, MemoryRunStore, RunFinished, WorkflowDoc, compile_workflow
from plait.workflows.state import Checkpointer

DEFAULT_N = 300
DEFAULT_WARMUP = 30
QUICK_N = 40
QUICK_WARMUP = 5
LONG = 50  # nodes in the long workflow, start and end included
SHORT = 2  # start -> end
MAX_NODE_US = 100.0
DEFAULT_JSON = Path(__file__).parent / "results" / "workflows.json"

CheckpointerFactory = Callable[[], Awaitable[Checkpointer | None]]


async def _no_checkpointer() -> Checkpointer | None:
    return None


async def _memory() -> Checkpointer | None:
    return MemoryRunStore()


CHECKPOINTERS: dict[str, CheckpointerFactory] = {"none": _no_checkpointer, "memory": _memory}


def register_checkpointer(name: str, factory: CheckpointerFactory) -> None:
    """Add a row: the same workflows run with the checkpointer ``factory`` makes (a database one, say)."""
    CHECKPOINTERS[name] = factory


def linear(nodes: int) -> WorkflowDoc:
    """start -> (nodes - 2) text nodes, each reading the previous one's output -> end."""
    body = [f"t{i}" for i in range(nodes - 2)]
    previous = ("start", "q")
    docs: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    for name in body:
        docs.append(
            {
                "id": name,
                "type": "text",
                "config": {"op": "upper"},
                "inputs": {"text": {"ref": {"node": previous[0], "output": previous[1]}}},
            }
        )
        previous = (name, "output")
    docs.append({"id": "end", "type": "end", "inputs": {"out": {"ref": {"node": previous[0], "output": previous[1]}}}})
    order = ["start", *body, "end"]
    return WorkflowDoc.model_validate(
        {
            "name": f"linear{nodes}",
            "inputs": [{"name": "q", "type": "string"}],
            "nodes": docs,
            "edges": [{"source": a, "target": b} for a, b in itertools.pairwise(order)],
        }
    )


async def one_run(workflow: CompiledWorkflow, checkpointer: Checkpointer | None, expect: str) -> None:
    last = None
    async for event in workflow.events({"q": "plait"}, checkpointer=checkpointer):
        last = event
    if not isinstance(last, RunFinished) or last.outputs["out"] != expect:
        raise RuntimeError(f"the benchmark workflow did not finish as it should: {last}")


async def measure(workflow: CompiledWorkflow, factory: CheckpointerFactory, n: int, warmup: int) -> list[float]:
    checkpointer = await factory()
    expect = "PLAIT" if len(workflow.doc.nodes) > SHORT else "plait"
    for _ in range(warmup):
        await one_run(workflow, checkpointer, expect)
    samples = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(n):
            began = time.perf_counter()
            await one_run(workflow, checkpointer, expect)
            samples.append(time.perf_counter() - began)
    finally:
        gc.enable()
    return samples


async def main(n: int, warmup: int, json_path: Path | None) -> int:
    long, short = compile_workflow(linear(LONG)), compile_workflow(linear(SHORT))
    rows, results, failed = [], {}, False
    for name, factory in CHECKPOINTERS.items():
        long_s = statistics.median(await measure(long, factory, n, warmup))
        short_s = statistics.median(await measure(short, factory, n, warmup))
        per_node = (long_s - short_s) / (LONG - SHORT) * 1e6
        target = MAX_NODE_US if name == "none" else None
        ok = target is None or per_node < target
        failed |= not ok
        results[name] = {"run_50_us": long_s * 1e6, "run_2_us": short_s * 1e6, "per_node_us": per_node}
        verdict = "n/a" if target is None else ("ok" if ok else f"over {target:g}")
        rows.append([name, f"{long_s * 1e6:.0f}", f"{short_s * 1e6:.0f}", f"{per_node:.1f}", verdict])
    print_table(
        f"Workflow overhead: {LONG}-node linear workflow of text nodes, events followed (median of {n})",
        ["checkpointer", "50 nodes µs", "2 nodes µs", "per node µs", "target"],
        rows,
    )
    if json_path is not None:
        write_json(json_path, {"benchmark": "workflows", "n": n, "results": results, "max_node_us": MAX_NODE_US})
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=DEFAULT_N)
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N} runs after {QUICK_WARMUP} warm-ups")
    parser.add_argument("--json", type=Path, default=None, help=f"write results here (e.g. {DEFAULT_JSON})")
    args = parser.parse_args()
    n, warmup = (QUICK_N, QUICK_WARMUP) if args.quick else (args.n, args.warmup)
    sys.exit(asyncio.run(main(n, warmup, args.json)))
