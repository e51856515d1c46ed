"""A bot's guards applied to a turn's model input (`plait.guard.policy`): run by the ``context`` node, after
retrieval and before the model is called, so a blocked turn never reaches the model.

The last user message and every retrieved chunk are screened under the bot's ``injection_policy``. A suspect
user message is blocked (the chat fails), flagged, or wrapped as data; a suspect chunk is dropped from the
context (``block``) or kept, fenced as data like every chunk (``flag``, ``wrap``). Each verdict acted on is a
`Finding`: counted in ``plait_guard_flags_total`` and shown to clients as a ``plait_guard`` verbose message."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from plait.guard.injection import Verdict, detect
from plait.guard.pii import mask
from plait.guard.policy import GuardSettings, wrapped
from plait.observability.metrics import GUARD_FLAGS
from plait.schema import Document, Message

INJECTION_BLOCKED = 4016  # the chat's last_error code when the bot's policy blocks the message
log = logging.getLogger(__name__)

Source = Literal["user_message", "chunk"]
Action = Literal["blocked", "dropped", "flagged", "wrapped"]


class InjectionBlocked(Exception):
    """The user's message looks like a prompt injection and the bot's policy is ``block``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """A suspect text and what the policy did with it."""

    source: Source
    action: Action
    verdict: Verdict
    document_id: str = ""  # a chunk's id

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "action": self.action, "document_id": self.document_id} | self.verdict.to_json()


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardFlagged:
    """The turn's findings, the first event of a turn that has any."""

    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        return {"findings": [finding.to_json() for finding in self.findings]}


@dataclass(frozen=True, slots=True)
class Guarded:
    history: list[Message]
    documents: list[Document]
    findings: tuple[Finding, ...] = field(default=())

    def flagged(self) -> GuardFlagged | None:
        return GuardFlagged(findings=self.findings) if self.findings else None


def guard_turn(settings: GuardSettings | None, history: list[Message], documents: list[Document]) -> Guarded:
    if settings is None:
        return Guarded(history, documents)
    findings: list[Finding] = []
    if settings.injection_policy != "off":
        history = _screen_message(settings, history, findings)
        documents = screen_chunks(settings, documents, findings)
    if settings.mask_pii_in_model_input:
        history = [_masked(m) if m.role == "user" else m for m in history]
        documents = [replace(d, content=mask(d.content)) for d in documents]
    return Guarded(history, documents, tuple(findings))


def screen_chunks(
    settings: GuardSettings | None, documents: Sequence[Document], findings: list[Finding]
) -> list[Document]:
    """The chunks the policy lets into the context; a finding for each suspect one (all chunks are fenced
    as data whatever the policy, so ``wrap`` keeps them as ``flag`` does)."""
    if settings is None or settings.injection_policy == "off":
        return list(documents)
    kept: list[Document] = []
    for document in documents:
        verdict = detect(document.content)
        if not verdict.injection:
            kept.append(document)
            continue
        dropped = settings.injection_policy == "block"
        _found(
            findings,
            Finding(
                source="chunk", action="dropped" if dropped else "flagged", verdict=verdict, document_id=document.id
            ),
        )
        if not dropped:
            kept.append(document)
    return kept


def _screen_message(settings: GuardSettings, history: list[Message], findings: list[Finding]) -> list[Message]:
    if not history or history[-1].role != "user":
        return history
    verdict = detect(history[-1].text)
    if not verdict.injection:
        return history
    policy = settings.injection_policy
    if policy == "block":
        _found(findings, Finding(source="user_message", action="blocked", verdict=verdict))
        tactics = ", ".join(verdict.tactics)
        raise InjectionBlocked(f"the message was blocked by the bot's guard as a possible prompt injection ({tactics})")
    if policy == "wrap" and isinstance(history[-1].content, str):
        _found(findings, Finding(source="user_message", action="wrapped", verdict=verdict))
        return [*history[:-1], replace(history[-1], content=wrapped(history[-1].content))]
    _found(findings, Finding(source="user_message", action="flagged", verdict=verdict))
    return history


def _found(findings: list[Finding], finding: Finding) -> None:
    findings.append(finding)
    GUARD_FLAGS.labels(source=finding.source, action=finding.action).inc()
    log.warning(
        "possible prompt injection in a %s, %s (%s, score %.2f)",
        finding.source.replace("_", " "),
        finding.action,
        ", ".join(finding.verdict.tactics),
        finding.verdict.score,
    )


def _masked(message: Message) -> Message:
    """Text content only: the parts of a multimodal message name files, which carry no typed-in PII."""
    return replace(message, content=mask(message.content)) if isinstance(message.content, str) else message
