"""What a finished run came to: its answer, or why it failed, read from the run's event log. Faces that answer
at once (OpenAI completions, MCP tool calls) need the same reading; the log, not the database, is the fresh
copy of a run of this process."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from plait.platform.chat.events import ChatFailed, MessageCompleted
from plait.platform.chat.records import ChatState
from plait.platform.chat.runner import Run


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatOutcome:
    """``failure`` is the chat as it failed (its ``last_error`` says why); ``state`` is the chat now."""

    state: ChatState
    answer: str
    reasoning: str
    failure: ChatState | None


def outcome_of(run: Run) -> ChatOutcome:
    """The run's outcome so far: the last answer it completed, and its failure if it failed."""
    answer, reasoning, failure = "", "", None
    for event in run.log.events:
        if isinstance(event, MessageCompleted) and event.message.type == "answer":
            answer, reasoning = event.message.content, event.message.reasoning_content
        elif isinstance(event, ChatFailed):
            failure = event.chat
    return ChatOutcome(state=run.state, answer=answer, reasoning=reasoning, failure=failure)


async def finished(run: Run) -> ChatOutcome:
    """Wait for the run to end (the runner bounds it by ``chat_timeout_seconds``). Shielded: a caller that
    gives up leaves the run going, as a non-streamed chat does, and its messages are saved all the same."""
    assert run.task is not None, "the run has not been started"
    await asyncio.shield(run.task)
    return outcome_of(run)
