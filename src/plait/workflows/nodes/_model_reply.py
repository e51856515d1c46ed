"""Asking a model for a decision (an intent, extracted parameters) and reading the JSON object in its reply.

Models wrap JSON in prose or code fences more often than not, so the object is cut from the first ``{`` to its
matching ``}`` rather than parsed from the whole text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from plait.schema import Message
from plait.workflows.nodes.base import NodeContext, ServiceMissing


async def ask_model(ctx: NodeContext, model_id: str, messages: Sequence[Message], what: str) -> str:
    """The model's whole reply; a decision is read once complete, so it is never streamed to the user."""
    models = ctx.services.models
    if models is None:
        raise ServiceMissing(ctx.node_id, f"{what} needs a model registry, and this run has none")
    reply = await models.get(model_id).generate(list(messages), temperature=0)
    return str(reply.text)


def json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text``, or None when there is none."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None
