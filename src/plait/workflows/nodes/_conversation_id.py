"""Which conversation a chatflow node reads or writes: its ``conversation_id`` input, else the run's own
(``$sys.conversation_id``, which a chatflow run carries)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plait.workflows.dsl import Param
from plait.workflows.nodes.base import NodeContext, NodeError

CONVERSATION_INPUT = Param(name="conversation_id", type="string", required=False)


def conversation_id(ctx: NodeContext, inputs: Mapping[str, Any]) -> str:
    found = inputs.get("conversation_id") or ctx.system.get("conversation_id")
    if not isinstance(found, str) or not found:
        raise NodeError(ctx.node_id, "no conversation: give a conversation_id input, or run it as a chatflow")
    return found
