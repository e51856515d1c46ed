"""Binding tools to a chat model: ``with_tools`` returns a shallow copy, so bound copies share the client
(and, for the scripted model, the script) of the model they came from and the original stays untouched."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Self

from plait.schema import ToolSpec


class ToolBinding:
    tools: list[ToolSpec]
    tool_choice: str

    def with_tools(self, tools: Sequence[ToolSpec], *, tool_choice: str = "auto") -> Self:
        bound = copy.copy(self)
        bound.tools = list(tools)
        bound.tool_choice = tool_choice
        return bound
