"""Tools an agent can call: Python functions, HTTP requests and OpenAPI services, behind an SSRF guard.

Names load on first use (PEP 562): the knowledge loader imports the guard, and tools import the knowledge
engine, so importing everything here would make the two packages import each other. A new tool module adds
its names to ``_EXPORTS`` and to the ``TYPE_CHECKING`` block.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plait.tools.calculator import CalculationError as CalculationError
    from plait.tools.calculator import Calculator as Calculator
    from plait.tools.clock import Clock as Clock
    from plait.tools.code_runner import CodeResult as CodeResult
    from plait.tools.code_runner import CodeRunner as CodeRunner
    from plait.tools.code_runner import SandboxError as SandboxError
    from plait.tools.errors import BlockedAddress as BlockedAddress
    from plait.tools.errors import InvalidArguments as InvalidArguments
    from plait.tools.errors import InvalidOpenAPI as InvalidOpenAPI
    from plait.tools.errors import NetworkError as NetworkError
    from plait.tools.errors import ToolError as ToolError
    from plait.tools.errors import ToolTimeout as ToolTimeout
    from plait.tools.errors import TooManyRedirects as TooManyRedirects
    from plait.tools.errors import UpstreamError as UpstreamError
    from plait.tools.function import FunctionTool as FunctionTool
    from plait.tools.function import tool as tool
    from plait.tools.http_request import HttpLimits as HttpLimits
    from plait.tools.http_request import HttpResult as HttpResult
    from plait.tools.http_request import http_request_tool as http_request_tool
    from plait.tools.knowledge_search import KnowledgeSearch as KnowledgeSearch
    from plait.tools.mcp_client import HttpServer as HttpServer
    from plait.tools.mcp_client import McpServerError as McpServerError
    from plait.tools.mcp_client import McpTool as McpTool
    from plait.tools.mcp_client import McpToolFailed as McpToolFailed
    from plait.tools.mcp_client import McpToolSource as McpToolSource
    from plait.tools.mcp_client import StdioServer as StdioServer
    from plait.tools.net_guard import NetGuard as NetGuard
    from plait.tools.openapi import OpenAPIPlugin as OpenAPIPlugin
    from plait.tools.openapi import OpenAPITool as OpenAPITool
    from plait.tools.openapi import PluginAuth as PluginAuth
    from plait.tools.openapi import PluginConfig as PluginConfig

_EXPORTS = {
    "CalculationError": "plait.tools.calculator",
    "Calculator": "plait.tools.calculator",
    "Clock": "plait.tools.clock",
    "CodeResult": "plait.tools.code_runner",
    "CodeRunner": "plait.tools.code_runner",
    "SandboxError": "plait.tools.code_runner",
    "KnowledgeSearch": "plait.tools.knowledge_search",
    "HttpServer": "plait.tools.mcp_client",
    "McpServerError": "plait.tools.mcp_client",
    "McpTool": "plait.tools.mcp_client",
    "McpToolFailed": "plait.tools.mcp_client",
    "McpToolSource": "plait.tools.mcp_client",
    "StdioServer": "plait.tools.mcp_client",
    "BlockedAddress": "plait.tools.errors",
    "InvalidArguments": "plait.tools.errors",
    "InvalidOpenAPI": "plait.tools.errors",
    "NetworkError": "plait.tools.errors",
    "ToolError": "plait.tools.errors",
    "ToolTimeout": "plait.tools.errors",
    "TooManyRedirects": "plait.tools.errors",
    "UpstreamError": "plait.tools.errors",
    "FunctionTool": "plait.tools.function",
    "tool": "plait.tools.function",
    "HttpLimits": "plait.tools.http_request",
    "HttpResult": "plait.tools.http_request",
    "http_request_tool": "plait.tools.http_request",
    "NetGuard": "plait.tools.net_guard",
    "OpenAPIPlugin": "plait.tools.openapi",
    "OpenAPITool": "plait.tools.openapi",
    "PluginAuth": "plait.tools.openapi",
    "PluginConfig": "plait.tools.openapi",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'plait.tools' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup does not come here
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
