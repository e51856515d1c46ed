"""http request: one HTTP exchange through the tools' SSRF guard (internal addresses are refused unless the
run's services carry a ``NetGuard`` that opens them). URL, headers, query and body are templates over the
node's inputs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from plait.tools.http_request import USER_AGENT, HttpLimits, fetch
from plait.tools.net_guard import NetGuard
from plait.workflows.dsl import Body, Param
from plait.workflows.nodes._template import render_text, template_problems
from plait.workflows.nodes.base import NodeConfig, NodeContext, NodeError, NodeResult, NodeType, register


class HttpConfig(NodeConfig):
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body_type: Literal["none", "json", "text"] = "none"
    body: str = ""
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    max_bytes: int = Field(default=256 * 1024, ge=1, le=10 * 1024 * 1024)
    fail_on_status: bool = Field(default=True, description="a 4xx or 5xx answer fails the node")


@register
class HttpRequest(NodeType[HttpConfig]):
    type = "http_request"
    title = "HTTP request"
    Config = HttpConfig

    def outputs(self, config: HttpConfig, declared: Sequence[Param]) -> Sequence[Param] | None:
        return [
            Param(name="status_code", type="integer"),
            Param(name="body", type="any"),
            Param(name="headers", type="object"),
        ]

    def check(self, config: HttpConfig, node_inputs: Mapping[str, Any], body: Body | None) -> list[tuple[str, str]]:
        texts = {"config.url": config.url, "config.body": config.body}
        texts |= {f"config.headers.{k}": v for k, v in config.headers.items()}
        texts |= {f"config.query.{k}": v for k, v in config.query.items()}
        return [problem for where, text in texts.items() for problem in template_problems(text, where, node_inputs)]

    async def run(self, ctx: NodeContext, inputs: dict[str, Any], config: HttpConfig) -> NodeResult:
        guard = ctx.services.find(NetGuard) or NetGuard()
        url = render_text(config.url, inputs)
        headers = {"user-agent": USER_AGENT} | {k: render_text(v, inputs) for k, v in config.headers.items()}
        query = {k: render_text(v, inputs) for k, v in config.query.items()}
        content = None
        if config.body_type != "none":
            text = render_text(config.body, inputs)
            if config.body_type == "json":
                try:
                    json.loads(text)
                except json.JSONDecodeError as exc:
                    raise NodeError(ctx.node_id, f"the rendered body is not JSON ({exc.msg}): {text[:200]!r}") from None
                headers.setdefault("content-type", "application/json")
            content = text.encode()
        limits = HttpLimits(timeout=config.timeout_seconds, max_bytes=config.max_bytes)
        result = await fetch(guard, limits, config.method, url, headers=headers, query=query, content=content)
        if config.fail_on_status and result.status >= 400:
            raise NodeError(ctx.node_id, f"{config.method} {url} answered {result.status}")
        return NodeResult(outputs={"status_code": result.status, "body": result.body, "headers": result.headers})
