"""What a model call is estimated to cost, for ``plait_model_cost_usd``: US dollars per million input and
output tokens, by model id. Local and scripted models cost nothing; an unknown model counts 0 until the
``model_prices`` setting names it (docs/operations.md)."""

from __future__ import annotations

from collections.abc import Mapping

from plait.schema import Usage

Price = tuple[float, float]  # (input, output) USD per million tokens

DEFAULT_PRICES: dict[str, Price] = {  # list prices when written; the setting overrides them
    "openai/gpt-4o": (2.50, 10.00),
    "openai/gpt-4o-mini": (0.15, 0.60),
    "openai/gpt-4.1": (2.00, 8.00),
    "deepseek/deepseek-chat": (0.27, 1.10),
    "deepseek/deepseek-reasoner": (0.55, 2.19),
    "qwen/qwen-plus": (0.40, 1.20),
    "qwen/qwen-max": (1.60, 6.40),
    "moonshot/moonshot-v1-8k": (0.20, 2.00),
    "anthropic/claude-sonnet-4-5": (3.00, 15.00),
    "anthropic/claude-haiku-4-5": (1.00, 5.00),
    "gemini/gemini-2.5-flash": (0.30, 2.50),
    "gemini/gemini-2.5-pro": (1.25, 10.00),
}
FREE_PREFIXES = ("local/", "scripted/", "ollama/")  # run on machines of your own

_prices: dict[str, Price] = dict(DEFAULT_PRICES)


def set_prices(overrides: Mapping[str, Price]) -> None:
    """The defaults with the settings' prices over them (a server calls this at start)."""
    _prices.clear()
    _prices.update(DEFAULT_PRICES)
    _prices.update(overrides)


def cost(model_id: str, usage: Usage) -> float:
    price = _prices.get(model_id)
    if price is None or model_id.startswith(FREE_PREFIXES):
        return 0.0
    return (usage.prompt_tokens * price[0] + usage.completion_tokens * price[1]) / 1_000_000
