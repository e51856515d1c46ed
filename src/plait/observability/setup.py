"""Turning observability on for a server process, and off at its shutdown."""

from __future__ import annotations

from collections.abc import Mapping

from plait.compose import add_global_handler, remove_global_handler
from plait.observability import prices, tracing
from plait.observability.node_metrics import NodeMetrics


class Observability:
    """Node metrics always (a global compose handler); tracing when ``wanted``; the price table."""

    def __init__(self, *, trace: bool = False, model_prices: Mapping[str, tuple[float, float]] | None = None) -> None:
        self.trace = tracing.wanted(trace)
        self.model_prices = dict(model_prices or {})
        self._nodes = NodeMetrics()

    def start(self) -> None:
        prices.set_prices(self.model_prices)
        add_global_handler(self._nodes)
        if self.trace:
            tracing.start()

    def stop(self) -> None:
        remove_global_handler(self._nodes)
        if self.trace:
            tracing.stop()
