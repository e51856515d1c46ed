"""code: Python in the sandboxed code runner. The code defines ``main(**inputs)`` (plain or async) returning a
dict; its keys are the node's outputs, checked against the outputs the node declares."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from plait.tools.code_runner import Limits, run_code
from plait.workflows.dsl import Body
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register
from plait.workflows.types import describe

_MARKER = "\x1eplait-result\x1e"
_CONCURRENT_RUNS = asyncio.Semaphore(2)  # each run is a process: bound them per worker
_HARNESS = """
import asyncio as __plait_asyncio, json as __plait_json, inspect as __plait_inspect
__plait_result = main(**__plait_json.loads({inputs!r}))
if __plait_inspect.isawaitable(__plait_result):
    __plait_result = __plait_asyncio.run(__plait_result)
print({marker!r} + __plait_json.dumps(__plait_result, ensure_ascii=False, default=str))
"""


class CodeConfig(NodeConfig):
    language: Literal["python"] = "python"
    code: str = Field(min_length=1, max_length=100_000)
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    memory_mb: int = Field(default=256, ge=16, le=1024)


@register
class Code(NodeType[CodeConfig]):
    type = "code"
    title = "Code"
    Config = CodeConfig

    def check(self, config: CodeConfig, node_inputs: Mapping[str, Any], body: Body | None) -> list[tuple[str, str]]:
        if "def main" not in config.code:
            return [("config.code", "the code must define main(**inputs) returning a dict")]
        return []

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: CodeConfig) -> NodeResult:
        program = config.code + "\n" + _HARNESS.format(inputs=json.dumps(inputs, default=str), marker=_MARKER)
        limits = Limits(
            wall_seconds=config.timeout_seconds,
            cpu_seconds=max(1, int(config.timeout_seconds)),
            memory_mb=config.memory_mb,
        )
        async with _CONCURRENT_RUNS:
            result = await run_code(program, limits)
        logs, _, tail = result.stdout.rpartition(_MARKER) if _MARKER in result.stdout else (result.stdout, "", "")
        if not result.ok or not tail:
            reason = f"hit its {result.limit} limit" if result.limit else f"exited with {result.exit_code}"
            raise NodeError(ctx.node_id, f"the code {reason}: {_last_lines(result.stderr)}")
        outputs = json.loads(tail)
        if not isinstance(outputs, dict):
            raise NodeError(ctx.node_id, f"main() must return a dict, it returned {describe(outputs)}")
        return NodeResult(outputs=outputs if not logs.strip() else {**outputs, "logs": logs})


def _last_lines(text: str, count: int = 5) -> str:
    return "\n".join(text.strip().splitlines()[-count:]) or "no error output"
