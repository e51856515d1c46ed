"""Summaries of the turns a section's prompt no longer holds. After a turn whose prompt left rounds out, the
bot's model folds the rounds newly left out into the section's summary (the previous summary plus those turns
make the next one), which later prompts carry as a system message after the persona. It runs after the answer
is saved, off the turn's path; a turn whose history fits does none of it."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from plait.components.model import ChatModel
from plait.platform.chat_prompt import TOOL_OUTPUTS, text_of
from plait.platform.memory.recall import Recall
from plait.schema import Message
from plait.store import Database
from plait.store.tables import ConversationSummary
from plait.store.tables import Message as MessageRow

log = logging.getLogger(__name__)
MAX_TURN_ROWS = 200  # messages folded in at once: a section imported with thousands keeps its latest
MAX_SUMMARY_CHARS = 4000
MAX_LINE_CHARS = 1000  # of one message, in the model's input
INSTRUCTION = (
    "You keep the memory of a conversation between a user and an assistant. Merge the summary so far with the "
    "new turns into one updated summary: facts about the user, decisions, open questions and what tools "
    "returned that still matters. Write at most 200 words, in the conversation's language, and nothing else."
)
PROMPT_HEADER = "Summary of the earlier conversation (older turns are no longer shown):"


def summary_message(summary: str) -> list[Message]:
    """The summary as the prompt carries it, after the persona."""
    return [Message.system(f"{PROMPT_HEADER}\n{summary}")] if summary else []


def transcript(rows: Sequence[MessageRow]) -> str:
    """Turns as plain lines the model reads: questions, answers, tool calls and their outputs."""
    lines = []
    for row in rows:
        if row.type in ("question", "answer"):
            speaker = "User" if row.role == "user" else "Assistant"
            lines.append(f"{speaker}: {text_of(row.content_type, row.content)[:MAX_LINE_CHARS]}")
        elif row.type == "function_call":
            lines.append(f"Assistant called a tool: {row.content[:MAX_LINE_CHARS]}")
        elif row.type in TOOL_OUTPUTS:
            lines.append(f"Tool returned: {row.content[:MAX_LINE_CHARS]}")
    return "\n".join(lines)


async def fold(
    database: Database, model: ChatModel, *, workspace_id: str, conversation_id: str, section_id: str, recall: Recall
) -> bool:
    """Fold the turns between the summary's end and the prompt's cut into the summary; False when there was
    nothing to fold or another chat's summary got there first."""
    cut = recall.cut
    if cut is None:
        return False
    async with database.unit_of_work() as uow:
        current = await uow.summaries.find(workspace_id, section_id)
        through = current.last_message_id if current is not None else None
        rows = await uow.summaries.turns(workspace_id, conversation_id, section_id, through or "", cut, MAX_TURN_ROWS)
    turns = transcript(rows)
    if not turns:
        return False
    previous = current.content if current is not None else ""
    prompt = [
        Message.system(INSTRUCTION),
        Message.user(f"Summary so far:\n{previous or '(none)'}\n\nNew turns:\n{turns}"),
    ]
    reply = await model.generate(prompt)
    summary = reply.text.strip()[:MAX_SUMMARY_CHARS]
    if not summary:
        log.warning("section %s: the model returned an empty summary; keeping the previous one", section_id)
        return False
    row = ConversationSummary(
        section_id=section_id,
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        content=summary,
        last_message_id=rows[-1].id,
    )
    async with database.unit_of_work() as uow:
        return await uow.summaries.save(row, through)
