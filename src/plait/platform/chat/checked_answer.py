"""The agent step of a bot with ``self_check``: its answer is scored against the chunks the turn retrieved
(`plait.platform.self_check`) before anyone sees it, so an answer that is retried never reaches the client.
The price: such an answer streams at once when checked, not as the model writes it.

Under the threshold, ``mark`` lets the answer through flagged; ``retry`` generates once more with an
instruction to keep to the sources and lets that answer through, flagged if it fails too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from plait.agents import AgentEvent, Answered, ReactAgent
from plait.components import Embedder
from plait.platform.chat.trace import SELF_CHECK_META, SUPPORT_META
from plait.platform.self_check import SelfCheckSettings, Support, answer_sentences, support
from plait.schema import Document, Message

STICK_TO_SOURCES = (
    "Answer only with what the knowledge passages above say, in their words where you can. "
    "If they do not answer the question, say that you do not know."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfChecked:
    """The check of the answer that follows it in the turn's events."""

    score: float
    threshold: float
    supported: bool
    retried: bool
    first_score: float | None  # the score of the answer that was retried
    sentences: tuple[tuple[str, float], ...]

    def meta(self) -> dict[str, str]:
        """What the answer's meta_data carries."""
        return {SELF_CHECK_META: "supported" if self.supported else "unsupported", SUPPORT_META: f"{self.score:.4g}"}

    def to_json(self) -> dict[str, Any]:
        return {
            "supported": self.supported,
            "score": round(self.score, 4),
            "threshold": self.threshold,
            "retried": self.retried,
            "first_score": None if self.first_score is None else round(self.first_score, 4),
            "sentences": [{"text": text, "similarity": value} for text, value in self.sentences],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerCheck:
    settings: SelfCheckSettings
    embedder: Embedder

    async def support(self, answer: str, documents: Sequence[Document]) -> Support:
        sentences = answer_sentences(answer)
        if not sentences:
            return support([], [], [], self.settings.sentence_similarity)
        vectors = await self.embedder.embed([*sentences, *(document.content for document in documents)])
        return support(
            sentences, vectors[: len(sentences)], vectors[len(sentences) :], self.settings.sentence_similarity
        )


async def checked_run(
    agent: ReactAgent, messages: list[Message], documents: Sequence[Document], check: AnswerCheck
) -> AsyncIterator[AgentEvent | SelfChecked]:
    """The agent's events, held until its answer is checked; a run that pauses for tools is not checked."""
    first = [event async for event in agent.run(messages)]
    answered = first[-1]
    if not isinstance(answered, Answered):
        for event in first:
            yield event
        return
    settings = check.settings
    scored = await check.support(answered.message.text, documents)
    if scored.passes(settings.threshold) or settings.on_fail == "mark":
        yield _checked(scored, settings, first_score=None)
        for event in first:
            yield event
        return
    second = [event async for event in agent.run(_strict(messages))]
    retried = second[-1]
    if isinstance(retried, Answered):
        yield _checked(await check.support(retried.message.text, documents), settings, first_score=scored.score)
        second[-1] = Answered(retried.message, answered.usage + retried.usage)
    for event in second:
        yield event


def _checked(scored: Support, settings: SelfCheckSettings, *, first_score: float | None) -> SelfChecked:
    return SelfChecked(
        score=scored.score,
        threshold=settings.threshold,
        supported=scored.passes(settings.threshold),
        retried=first_score is not None,
        first_score=first_score,
        sentences=scored.sentences,
    )


def _strict(messages: list[Message]) -> list[Message]:
    """The prompt with the instruction to keep to the sources, at the end of its system message."""
    if messages and messages[0].role == "system":
        return [Message.system(f"{messages[0].text}\n\n{STICK_TO_SOURCES}"), *messages[1:]]
    return [Message.system(STICK_TO_SOURCES), *messages]
