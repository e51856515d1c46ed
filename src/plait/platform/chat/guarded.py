"""A bot's guards applied to a turn's model input (`plait.guard.policy`): run by the ``context`` node, after
retrieval and before the model is called, so a blocked turn never reaches the model."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from plait.guard.injection import Verdict, detect
from plait.guard.pii import mask
from plait.guard.policy import GuardSettings, wrapped
from plait.schema import Document, Message

INJECTION_BLOCKED = 4016  # the chat's last_error code when the bot's policy blocks the message
log = logging.getLogger(__name__)


class InjectionBlocked(Exception):
    """The user's message looks like a prompt injection and the bot's policy is ``block``."""


@dataclass(frozen=True, slots=True)
class Guarded:
    history: list[Message]
    documents: list[Document]
    verdict: Verdict | None = None  # the last user message's, when it was screened


def guard_turn(settings: GuardSettings | None, history: list[Message], documents: list[Document]) -> Guarded:
    if settings is None:
        return Guarded(history, documents)
    verdict = None
    if settings.injection_policy != "off" and history and history[-1].role == "user":
        verdict = detect(history[-1].text)
        if verdict.injection:
            history = _on_injection(settings, history, verdict)
    if settings.mask_pii_in_model_input:
        history = [_masked(m) if m.role == "user" else m for m in history]
        documents = [replace(d, content=mask(d.content)) for d in documents]
    return Guarded(history, documents, verdict)


def _on_injection(settings: GuardSettings, history: list[Message], verdict: Verdict) -> list[Message]:
    tactics = ", ".join(verdict.tactics)
    if settings.injection_policy == "block":
        raise InjectionBlocked(f"the message was blocked by the bot's guard as a possible prompt injection ({tactics})")
    log.warning("possible prompt injection in a user message (%s, score %.2f)", tactics, verdict.score)
    if settings.injection_policy == "wrap" and isinstance(history[-1].content, str):
        return [*history[:-1], replace(history[-1], content=wrapped(history[-1].content))]
    return history


def _masked(message: Message) -> Message:
    """Text content only: the parts of a multimodal message name files, which carry no typed-in PII."""
    return replace(message, content=mask(message.content)) if isinstance(message.content, str) else message
