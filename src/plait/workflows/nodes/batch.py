"""batch: runs its body once per item of the ``items`` list, at most ``concurrency`` at a time, and collects
body outputs into lists in item order (not finishing order).

``max_items`` bounds the list: a longer one fails the node rather than dropping items unsaid. With
``on_item_error: fail`` the first failing item fails the node and the items still running are cancelled; with
``continue`` a failed item's collected values are null and ``errors`` lists ``{index, message}`` for each.
Each body run reads ``item`` and ``index`` from the batch's id. When body nodes wait for a person, the other
items still run, so every question of the batch is asked in one pause; on resume the batch runs again as a whole.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from plait.workflows.dsl import Body, Param, Reference
from plait.workflows.nodes._body_outputs import body_value, reference_problems
from plait.workflows.nodes.base import (
    BodyRun,
    NodeConfig,
    NodeContext,
    NodeError,
    NodeResult,
    NodeType,
    WorkflowInterrupt,
    register,
)


class BatchConfig(NodeConfig):
    concurrency: int = Field(default=4, ge=1, le=64, description="body runs at the same time")
    max_items: int = Field(default=100, ge=1, le=10_000)
    on_item_error: Literal["fail", "continue"] = "fail"
    collect: dict[str, Reference] = Field(min_length=1, description="output name -> a body node's output")


@register
class Batch(NodeType[BatchConfig]):
    type = "batch"
    title = "Batch"
    Config = BatchConfig
    container = True

    def inputs(self, config: BatchConfig) -> Sequence[Param]:
        return [Param(name="items", type="array")]

    def outputs(self, config: BatchConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        collected = [Param(name=name, type="array") for name in config.collect]
        return [*collected, Param(name="errors", type="array[object]")]

    def check(self, config: BatchConfig, node_inputs: Mapping[str, Any], body: Body | None) -> list[tuple[str, str]]:
        problems = reference_problems(config.collect, "config.collect", body)
        if "errors" in config.collect:
            problems.append(("config.collect.errors", "'errors' lists the failed items; choose another name"))
        return problems

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: BatchConfig) -> NodeResult:
        items = inputs.get("items")
        if not isinstance(items, list):
            raise NodeError(ctx.node_id, "input 'items' should be a list")
        if len(items) > config.max_items:
            raise NodeError(ctx.node_id, f"{len(items)} items is more than max_items ({config.max_items})")
        runs: list[BodyRun | None] = [None] * len(items)
        errors: list[dict[str, Any]] = []
        paused: list[WorkflowInterrupt] = []
        gate = asyncio.Semaphore(config.concurrency)

        async def one(index: int) -> None:
            async with gate:
                try:
                    runs[index] = await ctx.run_body({"item": items[index], "index": index}, index=index)
                except WorkflowInterrupt as waiting:
                    paused.append(waiting)  # the other items go on: each asks its question in this pause
                except Exception as exc:
                    if config.on_item_error == "fail":
                        raise NodeError(ctx.node_id, f"item {index} failed: {exc}") from exc
                    errors.append({"index": index, "message": str(exc) or type(exc).__name__})

        try:
            async with asyncio.TaskGroup() as group:
                for index in range(len(items)):
                    group.create_task(one(index))
        except BaseExceptionGroup as failed:  # the first item that failed; the others were cancelled
            raise failed.exceptions[0] from None
        if paused:
            raise paused[0]
        collected = {
            name: [None if run is None else body_value(run, ref, None) for run in runs]
            for name, ref in config.collect.items()
        }
        return NodeResult(outputs={**collected, "errors": sorted(errors, key=lambda e: e["index"])})
