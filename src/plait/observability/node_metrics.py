"""Latency and errors of every compose run and node (``plait_node_*``), from a global callback handler.

The label is the node's path (``agent``, ``sub/inner``), or the graph's name for a whole run; the label
children are cached, so a run costs a dict lookup and an observation per node."""

from __future__ import annotations

from typing import Any

from plait.compose import CallbackHandler, RunInfo
from plait.observability.metrics import NODE_ERRORS, NODE_LATENCY
from plait.schema import StreamReader

_Key = tuple[str, tuple[str, ...], str]


class NodeMetrics(CallbackHandler):
    def __init__(self) -> None:
        self._latency: dict[_Key, Any] = {}

    def on_end(self, info: RunInfo, output: Any) -> None:
        self._observe(info)

    def on_end_stream(self, info: RunInfo, output: StreamReader[Any]) -> None:
        self._observe(info)

    def on_error(self, info: RunInfo, error: BaseException) -> None:
        self._observe(info)
        NODE_ERRORS.labels(info.kind, _label(info)).inc()

    def _observe(self, info: RunInfo) -> None:
        key = (info.kind, info.path, info.name)
        child = self._latency.get(key)
        if child is None:
            child = self._latency[key] = NODE_LATENCY.labels(info.kind, _label(info))
        child.observe(info.duration or 0.0)


def _label(info: RunInfo) -> str:
    return "/".join(info.path) if info.kind == "node" and info.path else info.name
