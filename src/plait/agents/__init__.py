"""Agents built on the components: a ReAct loop over a chat model and tools."""

from plait.agents.react import (
    AgentError,
    AgentEvent,
    AnswerDelta,
    Answered,
    Paused,
    ReactAgent,
    ToolCallsMade,
    ToolResult,
)

__all__ = [
    "AgentError",
    "AgentEvent",
    "AnswerDelta",
    "Answered",
    "Paused",
    "ReactAgent",
    "ToolCallsMade",
    "ToolResult",
]
