"""Routing between bots, as pure scoring: which of a router's bots answers a turn, from how well each bot's
description matches the request (and, optionally, the model's pick) and from live signals of each bot (recent
success rate, latency, runs in progress). Everything here is arithmetic on numbers the chat path gathers, so
the decision is reproducible from its trace alone.

Relevance (the description match, and the model's pick when asked for) decides whether a bot may answer at
all: a bot whose relevance is under ``threshold`` is out, so a healthy bot never wins a question it does not
match. Among the bots left, the weighted mean of every signal wins; with none left, the fallback answers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_ROUTED_BOTS = 10
LATENCY_SCALE_SECONDS = 10.0  # a bot this slow scores 0.5 on latency
SIGNALS = ("match", "model", "success", "latency", "queue")


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingWeights:
    """How much each signal counts; only their ratios matter. ``model`` counts only with ``use_model``."""

    match: float = 0.6
    model: float = 0.3
    success: float = 0.2
    latency: float = 0.1
    queue: float = 0.1

    def __post_init__(self) -> None:
        for name in SIGNALS:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"weights.{name}: a finite number >= 0, got {value!r}")
        if self.match + self.model <= 0:
            raise ValueError("weights: match or model must be above 0, or no bot could ever be relevant")


@dataclass(frozen=True, slots=True, kw_only=True)
class RoutingSettings:
    """A router bot: each turn is answered by one of ``bot_ids`` (or ``fallback_bot_id``), never by itself."""

    bot_ids: tuple[str, ...]
    fallback_bot_id: str | None = None
    use_model: bool = False  # also ask the router's model which bot fits
    threshold: float = 0.2  # the relevance a bot needs to be chosen
    weights: RoutingWeights = field(default_factory=RoutingWeights)

    def __post_init__(self) -> None:
        if not self.bot_ids:
            raise ValueError("routing.bot_ids: name at least one bot to route to")
        if len(self.bot_ids) > MAX_ROUTED_BOTS:
            raise ValueError(f"routing.bot_ids: at most {MAX_ROUTED_BOTS} bots")
        if len(set(self.bot_ids)) != len(self.bot_ids):
            raise ValueError("routing.bot_ids: a bot is named twice")
        if not (0.0 <= self.threshold <= 1.0):
            raise ValueError(f"routing.threshold: between 0 and 1, got {self.threshold!r}")

    @property
    def targets(self) -> tuple[str, ...]:
        """Every bot a turn may go to."""
        extra = () if self.fallback_bot_id is None or self.fallback_bot_id in self.bot_ids else (self.fallback_bot_id,)
        return (*self.bot_ids, *extra)

    def to_json(self) -> dict[str, Any]:
        return {
            "bot_ids": list(self.bot_ids),
            "fallback_bot_id": self.fallback_bot_id,
            "use_model": self.use_model,
            "threshold": self.threshold,
            "weights": asdict(self.weights),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> RoutingSettings | None:
        if not value:
            return None
        return cls(
            bot_ids=tuple(value.get("bot_ids") or ()),
            fallback_bot_id=value.get("fallback_bot_id"),
            use_model=bool(value.get("use_model", False)),
            threshold=float(value.get("threshold", 0.2)),
            weights=RoutingWeights(**(value.get("weights") or {})),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Signals:
    """What is known of one candidate now. None: not known (no recent chats), scored as the others' mean."""

    bot_id: str
    similarity: float  # cosine of the request and the bot's description
    model_pick: bool = False
    success_rate: float | None = None
    latency_seconds: float | None = None
    queue: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    bot_id: str
    relevance: float
    total: float
    parts: dict[str, float]  # each signal on a 0..1 scale, before weighting


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    bot_id: str
    fallback: bool  # no bot was relevant enough
    scores: tuple[Score, ...]  # best first
    weights: dict[str, float]  # as applied: ``model`` is 0 unless the model was asked
    threshold: float

    def to_json(self) -> dict[str, Any]:
        return {
            "bot_id": self.bot_id,
            "fallback": self.fallback,
            "threshold": self.threshold,
            "weights": self.weights,
            "scores": [
                {
                    "bot_id": s.bot_id,
                    "relevance": round(s.relevance, 4),
                    "total": round(s.total, 4),
                    **{name: round(value, 4) for name, value in s.parts.items()},
                }
                for s in self.scores
            ],
        }


def decide(settings: RoutingSettings, candidates: Sequence[Signals]) -> Decision:
    """The bot that answers: the best total among the relevant ones, else the fallback, else the best total."""
    if not candidates:
        raise ValueError("no candidate bots to route between")
    weights = asdict(settings.weights)
    if not settings.use_model:
        weights["model"] = 0.0
    success = _filled([c.success_rate for c in candidates])
    latency = _filled([None if c.latency_seconds is None else _speed(c.latency_seconds) for c in candidates])
    scores = []
    for candidate, succeeded, fast in zip(candidates, success, latency, strict=True):
        parts = {
            "match": max(0.0, min(1.0, candidate.similarity)),
            "model": 1.0 if candidate.model_pick else 0.0,
            "success": succeeded,
            "latency": fast,
            "queue": 1.0 / (1 + max(0, candidate.queue)),
        }
        relevance = _mean(parts, weights, ("match", "model"))
        scores.append(
            Score(bot_id=candidate.bot_id, relevance=relevance, total=_mean(parts, weights, SIGNALS), parts=parts)
        )
    ranked = tuple(sorted(scores, key=lambda s: (-s.total, -s.relevance, s.bot_id)))
    relevant = [s for s in ranked if s.relevance >= settings.threshold and s.relevance > 0]
    if relevant:
        chosen, fallback = relevant[0].bot_id, False
    else:
        chosen, fallback = settings.fallback_bot_id or ranked[0].bot_id, True
    return Decision(bot_id=chosen, fallback=fallback, scores=ranked, weights=weights, threshold=settings.threshold)


def _mean(parts: Mapping[str, float], weights: Mapping[str, float], names: Sequence[str]) -> float:
    total = sum(weights[name] for name in names)
    return sum(weights[name] * parts[name] for name in names) / total if total > 0 else 0.0


def _speed(seconds: float) -> float:
    return LATENCY_SCALE_SECONDS / (LATENCY_SCALE_SECONDS + max(0.0, seconds))


def _filled(values: Sequence[float | None]) -> list[float]:
    """Unknown values as the mean of the known ones: a bot with no history neither gains nor loses by it."""
    known = [value for value in values if value is not None]
    neutral = sum(known) / len(known) if known else 1.0
    return [neutral if value is None else value for value in values]


def cosine(left: Sequence[float], right: Sequence[float]) -> float:
    """Cosine similarity; 0 for a zero vector."""
    dot = sum(a * b for a, b in zip(left, right, strict=True))
    norms = math.sqrt(sum(a * a for a in left)) * math.sqrt(sum(b * b for b in right))
    return dot / norms if norms > 0 else 0.0
