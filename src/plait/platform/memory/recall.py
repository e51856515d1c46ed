"""What a turn's prompt took from memory, and which rounds of its history fell out of the prompt: what the
summarising step after the answer needs to know, without reading the history again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from plait.platform.chat_prompt import StoredMessage
from plait.schema import Message


class IdentifiedMessage(StoredMessage, Protocol):
    id: str


@dataclass(slots=True, kw_only=True)
class Recall:
    summary: str = ""  # the section's summary of its earlier turns; "" when there is none
    summarized_through: str | None = None  # the last message the summary covers
    older_unread: bool = False  # the history read stopped at its limit: older turns may be uncovered
    round_ids: tuple[str, ...] = ()  # the ids of the history's user messages: where its rounds start
    dropped_rounds: int = 0  # rounds of the history the prompt left out (set when the prompt is built)

    @classmethod
    def of(
        cls, rows: Sequence[IdentifiedMessage], *, summary: str, summarized_through: str | None, older_unread: bool
    ) -> Recall:
        """``rows`` as `to_messages` reads them: its user messages are the question rows of the user."""
        starts = tuple(row.id for row in rows if row.role == "user" and row.type in ("question", "answer"))
        return cls(summary=summary, summarized_through=summarized_through, older_unread=older_unread, round_ids=starts)

    def note_prompt(self, history: Sequence[Message], kept: int) -> None:
        """Record how many rounds of ``history`` the prompt dropped, keeping its last ``kept`` messages."""
        self.dropped_rounds = sum(1 for message in history[: len(history) - kept] if message.role == "user")

    @property
    def cut(self) -> str | None:
        """Where the next summary ends, when turns the prompt left out await summarising: past them, and past
        the older half of the rounds the prompt kept. Folding ahead leaves room for as many turns before the next
        summary, so a long conversation pays one summarising model call per ``context_round / 2`` turns, not
        one per turn; its prompts carry between half and all of ``context_round`` rounds after the summary."""
        if not (self.dropped_rounds or self.older_unread) or self.dropped_rounds >= len(self.round_ids):
            return None
        kept = len(self.round_ids) - self.dropped_rounds
        return self.round_ids[self.dropped_rounds + kept // 2]
