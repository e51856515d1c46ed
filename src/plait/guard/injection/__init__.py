"""Prompt-injection detection: `detect` runs the rules and the shipped classifier on a text."""

from __future__ import annotations

from dataclasses import dataclass

from plait.guard.injection.classifier import shipped
from plait.guard.injection.rules import matches


@dataclass(frozen=True, slots=True)
class Verdict:
    injection: bool
    score: float  # the classifier's probability; 1.0 when only rules ran and one matched
    tactics: tuple[str, ...]  # the rules that matched, and "classifier" when its score crossed the threshold

    def to_json(self) -> dict[str, object]:
        return {"injection": self.injection, "score": round(self.score, 3), "tactics": list(self.tactics)}


def detect(text: str) -> Verdict:
    """A rule match or a classifier score over its threshold makes ``text`` an injection."""
    tactics = matches(text)
    model = shipped()
    score = model.score(text) if model is not None else float(bool(tactics))
    if model is not None and score >= model.threshold:
        tactics.append("classifier")
    return Verdict(injection=bool(tactics), score=score, tactics=tuple(tactics))


__all__ = ["Verdict", "detect"]
