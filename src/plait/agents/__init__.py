"""Agents built on the components: a ReAct loop over a chat model and tools."""

from plait.agents.react import (
    APPROVED,
    AgentError,
    AgentEvent,
    AnswerDelta,
    Answered,
    Paused,
    ReactAgent,
    ToolCallsMade,
    ToolResult,
    approval,
    is_approval,
    rejection,
    transcript,
)

__all__ = [
    "APPROVED",
    "AgentError",
    "AgentEvent",
    "AnswerDelta",
    "Answered",
    "Paused",
    "ReactAgent",
    "ToolCallsMade",
    "ToolResult",
    "approval",
    "is_approval",
    "rejection",
    "transcript",
]
