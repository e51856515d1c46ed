"""How a turn shows its decisions (routing, knowledge, self-check, guards) to clients: ``verbose`` messages in
Coze's shape, which Coze clients already pass over, and flat string keys in ``meta_data``, which Coze types as
strings."""

from __future__ import annotations

from typing import Any

import orjson

ROUTING_MSG_TYPE = "plait_routing"
SELF_CHECK_MSG_TYPE = "plait_self_check"
GUARD_MSG_TYPE = "plait_guard"  # a turn's suspected prompt injections and what the bot's guard did
KNOWLEDGE_RECALL_MSG_TYPE = "knowledge_recall"  # Coze's own: the chunks in the prompt (recalled.py)
ROUTING_META = "plait_routing"  # the chat's meta_data: the routing decision as JSON
SELF_CHECK_META = "plait_self_check"  # the answer's meta_data: "supported" or "unsupported"
SUPPORT_META = "plait_support_score"  # the answer's meta_data: the support score, 0..1


def as_json(data: Any) -> str:
    return orjson.dumps(data).decode()


def verbose_content(msg_type: str, data: Any) -> str:
    """A verbose message's content: Coze's envelope with ``data`` as a JSON string, as Coze's own are."""
    return as_json({"msg_type": msg_type, "data": as_json(data), "from_module": None, "from_unit": None})
