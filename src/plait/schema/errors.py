"""The root of Plait's exception tree.

    PlaitError
    ├── ConcatError            chunks of a stream that cannot be joined
    ├── StreamClosedError      writing to a pipe whose reader went away
    └── ToolArgumentsError     a model produced tool-call arguments that are not a JSON object

Layers above add their own branches (``plait.compose.errors`` draws the graph ones).
"""

from __future__ import annotations


class PlaitError(Exception):
    """Base of every error Plait raises on purpose."""


class ConcatError(PlaitError):
    """Raised when the chunks of a stream have no rule to be joined into one value."""


class StreamClosedError(PlaitError):
    """Raised by a pipe writer once its reader has been closed: the producer should stop."""


class ToolArgumentsError(PlaitError):
    """Raised when a tool call's arguments are not a JSON object; the raw text is kept for reporting."""

    def __init__(self, tool_name: str, raw: str, reason: str) -> None:
        super().__init__(f"tool call {tool_name!r} has invalid arguments ({reason}): {raw[:200]!r}")
        self.tool_name = tool_name
        self.raw = raw
