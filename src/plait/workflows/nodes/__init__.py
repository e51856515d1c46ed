"""The node library. Every module of this package defines and ``register``s its node types; they are imported
the first time a type is looked up, so adding a node type is adding a module here."""

from __future__ import annotations

import importlib
import pkgutil

from plait.workflows.nodes.base import (
    BodyRun,
    EmptyConfig,
    NodeConfig,
    NodeContext,
    NodeError,
    NodeResult,
    NodeType,
    ServiceMissing,
    Services,
    WorkflowInterrupt,
    get_node_type,
    node_types,
    register,
)

_loaded = False


def load_builtin_nodes() -> None:
    """Import every node module once (each registers its types)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base" and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


__all__ = [
    "BodyRun",
    "EmptyConfig",
    "NodeConfig",
    "NodeContext",
    "NodeError",
    "NodeResult",
    "NodeType",
    "ServiceMissing",
    "Services",
    "WorkflowInterrupt",
    "get_node_type",
    "load_builtin_nodes",
    "node_types",
    "register",
]
