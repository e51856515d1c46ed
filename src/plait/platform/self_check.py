"""Answer self-check, as pure scoring: how much of a knowledge-grounded answer the retrieved chunks support.

An answer sentence is supported when some chunk is close enough to it (cosine of their embeddings at least
``sentence_similarity``); the answer's support is the share of its sentences that are. A sentence is the unit
because an answer that is half copied from the sources and half made up should not pass on its average.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from plait.knowledge.splitters.sentences import split_sentences

OnFail = Literal["retry", "mark"]
ON_FAIL = ("retry", "mark")
MIN_SENTENCE_CHARS = 3  # "Yes." or a bullet mark claims nothing a source could support


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfCheckSettings:
    """``threshold``: the support an answer needs; under it, ``retry`` generates once more, told to keep to
    the sources (and marks the retry if it fails too), ``mark`` flags the answer as unsupported."""

    threshold: float = 0.5
    on_fail: OnFail = "mark"
    sentence_similarity: float = 0.35

    def __post_init__(self) -> None:
        for name in ("threshold", "sentence_similarity"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"self_check.{name}: between 0 and 1, got {value!r}")
        if self.on_fail not in ON_FAIL:
            raise ValueError(f"self_check.on_fail: one of {', '.join(ON_FAIL)}, got {self.on_fail!r}")

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "on_fail": self.on_fail, "sentence_similarity": self.sentence_similarity}

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> SelfCheckSettings | None:
        if not value:
            return None
        return cls(
            threshold=float(value.get("threshold", 0.5)),
            on_fail=value.get("on_fail", "mark"),
            sentence_similarity=float(value.get("sentence_similarity", 0.35)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Support:
    score: float  # the share of supported sentences, 0..1
    sentences: tuple[tuple[str, float], ...]  # each sentence with its best chunk similarity

    def passes(self, threshold: float) -> bool:
        return self.score >= threshold


def answer_sentences(answer: str) -> list[str]:
    """The sentences of an answer that claim something (the ones to check)."""
    return [s.strip() for s in split_sentences(answer) if len(s.strip()) >= MIN_SENTENCE_CHARS]


def support(
    sentences: Sequence[str],
    sentence_vectors: Sequence[Sequence[float]],
    chunk_vectors: Sequence[Sequence[float]],
    bar: float,
) -> Support:
    """How much the chunks support the sentences; an answer with no sentence claims nothing and passes, one
    with no chunk to stand on does not."""
    if not sentences:
        return Support(score=1.0, sentences=())
    if not chunk_vectors:
        return Support(score=0.0, sentences=tuple((s, 0.0) for s in sentences))
    best = (_unit(sentence_vectors) @ _unit(chunk_vectors).T).max(axis=1)
    supported = sum(1 for value in best if value >= bar)
    return Support(
        score=supported / len(sentences),
        sentences=tuple((s, round(float(v), 4)) for s, v in zip(sentences, best, strict=True)),
    )


def _unit(rows: Sequence[Sequence[float]]) -> np.ndarray[Any, Any]:
    matrix = np.asarray(rows, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)
