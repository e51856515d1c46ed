"""Model and tool calls counted: latency, errors, tokens, and cost from the price table (0 for local and
scripted models, the setting's price over the built-in one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from plait.models.scripted import ScriptedChatModel
from plait.observability import prices
from plait.observability.calls import ObservedModel, ObservedTool
from plait.schema import Message, Usage
from plait.tools.function import tool


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def priced() -> Iterator[None]:
    prices.set_prices({"paid/model": (1.0, 4.0)})
    try:
        yield
    finally:
        prices.set_prices({})


async def test_tokens_and_cost_by_model_and_workspace(priced: None) -> None:
    model = ObservedModel(ScriptedChatModel(["one two three"]), "paid/model", "ws-cost")
    labels = {"model": "paid/model", "workspace": "ws-cost"}
    chunks = [chunk async for chunk in model.with_tools([]).stream([Message.user("count")])]
    usage = sum((chunk.usage for chunk in chunks if chunk.usage), Usage())
    assert value("plait_model_tokens_total", direction="input", **labels) == usage.prompt_tokens > 0
    assert value("plait_model_tokens_total", direction="output", **labels) == usage.completion_tokens > 0
    expected = (usage.prompt_tokens * 1.0 + usage.completion_tokens * 4.0) / 1e6
    assert value("plait_model_cost_usd_total", **labels) == pytest.approx(expected)
    assert value("plait_model_call_duration_seconds_count", model="paid/model") == 1


def test_local_and_unknown_models_cost_nothing() -> None:
    usage = Usage(prompt_tokens=1000, completion_tokens=1000)
    assert prices.cost("local/gemma3-270m", usage) == prices.cost("someone/unknown", usage) == 0
    assert prices.cost("openai/gpt-4o", usage) > 0


async def test_a_failing_model_call_counts_an_error() -> None:
    model = ObservedModel(ScriptedChatModel([RuntimeError("down")]), "scripted/failing", "ws")
    with pytest.raises(RuntimeError):
        await model.generate([Message.user("hi")])
    assert value("plait_model_call_errors_total", model="scripted/failing") == 1


async def test_tool_calls_count_latency_and_errors() -> None:
    @tool
    def divide(a: int, b: int) -> float:
        """Divide."""
        return a / b

    observed = ObservedTool(divide)
    assert observed.spec is divide.spec
    assert await observed.call({"a": 6, "b": 3}) == 2
    with pytest.raises(ZeroDivisionError):
        await observed.call({"a": 1, "b": 0})
    assert value("plait_tool_call_duration_seconds_count", tool="divide") == 2
    assert value("plait_tool_call_errors_total", tool="divide") == 1
