"""The ``plait_*`` Prometheus metrics and the helpers that update them.

One process keeps them in prometheus-client's default registry. ``plait serve --workers N`` (N > 1) sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start: each worker then writes its values to files there and
``/metrics`` adds up every worker's (``multiprocess_registry``). Gauges say how to add them up (``livesum``:
only live workers count)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SLOW = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

HTTP_REQUESTS = Counter(
    "plait_http_requests", "HTTP requests by route template and status.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "plait_http_request_duration_seconds", "Time to the response's last byte.", ["method", "route"], buckets=_FAST
)
SSE_OPEN = Gauge("plait_sse_streams_open", "Server-sent event streams open now.", multiprocess_mode="livesum")

CHATS = Counter("plait_chats", "Chat runs by how they ended.", ["model", "workspace", "status"])
TOKENS = Counter("plait_model_tokens", "Tokens of model calls.", ["model", "workspace", "direction"])
COST = Counter("plait_model_cost_usd", "Estimated cost of model calls, from the price table.", ["model", "workspace"])
MODEL_LATENCY = Histogram(
    "plait_model_call_duration_seconds", "Model calls, to the last chunk.", ["model"], buckets=_SLOW
)
MODEL_ERRORS = Counter("plait_model_call_errors", "Model calls that raised.", ["model"])
TOOL_LATENCY = Histogram("plait_tool_call_duration_seconds", "Tool calls.", ["tool"], buckets=_SLOW)
TOOL_ERRORS = Counter("plait_tool_call_errors", "Tool calls that raised or timed out.", ["tool"])
NODE_LATENCY = Histogram(
    "plait_node_duration_seconds", "Compose runs of graphs and nodes.", ["kind", "node"], buckets=_SLOW
)
NODE_ERRORS = Counter("plait_node_errors", "Compose runs of graphs and nodes that failed.", ["kind", "node"])

JOBS_QUEUED = Gauge(
    "plait_jobs_queued",
    "Background jobs waiting or running (ingestion documents, workflow runs).",
    ["queue"],
    multiprocess_mode="livesum",
)
JOBS = Counter("plait_jobs", "Background jobs by outcome.", ["queue", "outcome"])
GUARD_FLAGS = Counter(
    "plait_guard_flags", "Suspected prompt injections a bot's guard acted on (docs/guard.md).", ["source", "action"]
)


def multiprocess_registry() -> CollectorRegistry | None:
    """A registry that adds up every worker's files, when this process runs in multiprocess mode."""
    if not os.environ.get(MULTIPROC_ENV):
        return None
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def prepare_multiprocess(directory: Path) -> None:
    """Before the workers start: an empty directory (files of an earlier server would add old counts) named in
    the environment the workers inherit, so prometheus-client writes there from its import on."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)


def worker_exited(pid: int) -> None:
    """Drop the live gauges of a worker that stops, so ``livesum`` no longer counts its streams and jobs."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
