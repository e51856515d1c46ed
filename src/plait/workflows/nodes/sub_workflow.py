"""sub-workflow: runs another workflow document, found by id through the run's ``WorkflowResolver``, with the
node's inputs as its inputs; its outputs are the node's.

Nesting is bounded by ``MAX_DEPTH`` (a workflow that calls itself, directly or through others, fails there
instead of running until memory runs out). The depth travels in a context variable, which the tasks a run
starts inherit, so it holds across the compose graphs of nested runs.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from pydantic import Field

from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register
from plait.workflows.ports import WorkflowResolver

MAX_DEPTH = 5
_depth: ContextVar[int] = ContextVar("plait_workflow_depth", default=0)


class SubWorkflowConfig(NodeConfig):
    workflow_id: str = Field(min_length=1)
    version: str | None = Field(default=None, description="a published version; None: the latest")


@register
class SubWorkflow(NodeType[SubWorkflowConfig]):
    type = "sub_workflow"
    title = "Workflow"
    Config = SubWorkflowConfig

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: SubWorkflowConfig) -> NodeResult:
        depth = _depth.get() + 1
        if depth > MAX_DEPTH:
            raise NodeError(ctx.node_id, f"workflows nest deeper than {MAX_DEPTH} levels (does one call itself?)")
        why = "a sub-workflow node loads workflows by id"
        resolver = ctx.services.require(WorkflowResolver, ctx.node_id, why)  # type: ignore[type-abstract]
        doc = await resolver.get_workflow(config.workflow_id, config.version, ctx.system)
        if doc is None:
            version = f" version {config.version}" if config.version else ""
            raise NodeError(ctx.node_id, f"no workflow {config.workflow_id!r}{version}")
        token = _depth.set(depth)
        try:
            outputs = await ctx.run_workflow(doc, inputs)
        finally:
            _depth.reset(token)
        return NodeResult(outputs=dict(outputs))
