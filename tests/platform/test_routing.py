"""Routing scores: relevance gates, live signals rank, unknown signals are neutral, the fallback catches."""

from __future__ import annotations

import pytest

from plait.platform.bot_config import BotConfig, ModelSettings
from plait.platform.routing import RoutingSettings, RoutingWeights, Signals, cosine, decide


def test_the_matching_bot_wins() -> None:
    settings = RoutingSettings(bot_ids=("billing", "tech"))
    decision = decide(settings, [Signals(bot_id="billing", similarity=0.1), Signals(bot_id="tech", similarity=0.6)])
    assert (decision.bot_id, decision.fallback) == ("tech", False)
    assert [s.bot_id for s in decision.scores] == ["tech", "billing"]
    assert decision.weights["model"] == 0.0  # the model was not asked


def test_live_signals_decide_between_equally_relevant_bots() -> None:
    settings = RoutingSettings(bot_ids=("a", "b"))
    busy = Signals(bot_id="a", similarity=0.5, success_rate=0.5, latency_seconds=30.0, queue=4)
    idle = Signals(bot_id="b", similarity=0.5, success_rate=1.0, latency_seconds=1.0, queue=0)
    decision = decide(settings, [busy, idle])
    assert decision.bot_id == "b"
    a = next(s for s in decision.scores if s.bot_id == "a")
    assert a.parts == {"match": 0.5, "model": 0.0, "success": 0.5, "latency": 0.25, "queue": 0.2}


def test_a_healthy_bot_never_wins_a_question_it_does_not_match() -> None:
    settings = RoutingSettings(bot_ids=("a", "b"), threshold=0.3)
    relevant = Signals(bot_id="a", similarity=0.35, success_rate=0.0, latency_seconds=60.0, queue=9)
    healthy = Signals(bot_id="b", similarity=0.1, success_rate=1.0, latency_seconds=0.0)
    decision = decide(settings, [relevant, healthy])
    assert decision.scores[0].bot_id == "b"  # the better total...
    assert decision.bot_id == "a"  # ...but not relevant enough to answer


def test_unknown_signals_count_as_the_others_mean() -> None:
    settings = RoutingSettings(bot_ids=("new", "old"))
    decision = decide(
        settings,
        [Signals(bot_id="new", similarity=0.4), Signals(bot_id="old", similarity=0.4, success_rate=0.8)],
    )
    assert {s.bot_id: s.parts["success"] for s in decision.scores} == {"new": 0.8, "old": 0.8}


def test_nothing_relevant_goes_to_the_fallback_or_the_best() -> None:
    weak = [Signals(bot_id="a", similarity=0.05), Signals(bot_id="b", similarity=-0.2)]
    decision = decide(RoutingSettings(bot_ids=("a", "b"), fallback_bot_id="c"), weak)
    assert (decision.bot_id, decision.fallback) == ("c", True)
    assert decide(RoutingSettings(bot_ids=("a", "b")), weak).bot_id == "a"


def test_the_model_pick_counts_when_asked() -> None:
    candidates = [Signals(bot_id="a", similarity=0.3), Signals(bot_id="b", similarity=0.25, model_pick=True)]
    assert decide(RoutingSettings(bot_ids=("a", "b")), candidates).bot_id == "a"
    with_model = decide(RoutingSettings(bot_ids=("a", "b"), use_model=True), candidates)
    assert with_model.bot_id == "b"
    assert with_model.to_json()["scores"][0] | {"total": 0} == {
        "bot_id": "b",
        "relevance": round((0.6 * 0.25 + 0.3) / 0.9, 4),
        "total": 0,
        "match": 0.25,
        "model": 1.0,
        "success": 1.0,
        "latency": 1.0,
        "queue": 1.0,
    }


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"bot_ids": ()}, "at least one"),
        ({"bot_ids": ("a", "a")}, "twice"),
        ({"threshold": 1.5}, "between 0 and 1"),
        ({"weights": {"match": -1}}, "weights.match"),
        ({"weights": {"match": 0, "model": 0}}, "match or model"),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, object], problem: str) -> None:
    value: dict[str, object] = {"bot_ids": ("a",)} | changes
    with pytest.raises(ValueError, match=problem):
        RoutingSettings.from_json(value)


def test_settings_travel_in_the_bot_config_columns() -> None:
    routing = RoutingSettings(bot_ids=("a", "b"), fallback_bot_id="c", weights=RoutingWeights(queue=0.5))
    config = BotConfig(name="router", model=ModelSettings(model_id=""), routing=routing)
    assert config.columns()["prompt"]["routing"]["fallback_bot_id"] == "c"
    assert BotConfig.from_columns(config.columns()) == config
    assert routing.targets == ("a", "b", "c")
    assert BotConfig.from_columns(BotConfig(name="x", model=ModelSettings(model_id="")).columns()).routing is None


def test_cosine() -> None:
    assert cosine([1.0, 0.0], [1.0, 0.0]) == 1.0
    assert cosine([1.0, 0.0], [0.0, 0.0]) == 0.0
