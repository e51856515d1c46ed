"""The built-in plugins every workspace has, under fixed ids, with no row to create: bots name them in
``plugin_id_list`` like any other plugin, with the tool's name as ``api_id``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from plait.components import Tool
from plait.tools.calculator import Calculator
from plait.tools.clock import Clock
from plait.tools.code_runner import CodeRunner
from plait.tools.http_request import http_request_tool


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltinPlugin:
    id: str
    name: str
    description: str
    make: Callable[[], Tool]


BUILTINS: dict[str, BuiltinPlugin] = {
    plugin.id: plugin
    for plugin in (
        BuiltinPlugin(
            id="builtin.http_request",
            name="http_request",
            description="HTTP requests to public web addresses (internal ones are refused).",
            make=http_request_tool,
        ),
        BuiltinPlugin(id="builtin.calculator", name="calculator", description="Exact arithmetic.", make=Calculator),
        BuiltinPlugin(id="builtin.clock", name="clock", description="The current date and time.", make=Clock),
        BuiltinPlugin(
            id="builtin.code_runner",
            name="code_runner",
            description="Python in a sandbox: no network, bounded CPU, memory and time.",
            make=CodeRunner,
        ),
    )
}


def is_builtin(plugin_id: str) -> bool:
    return plugin_id in BUILTINS
