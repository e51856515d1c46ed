"""The scripted chat model: deterministic replies and tool calls, streamed token by token.

Part of the product, not a test helper: tests, demos and benchmarks use it to run agents, graphs and the
server without a real model. ``ScriptedChatModel.echo()`` (model id ``scripted/echo``) answers with the
last user message, verbatim; ``ScriptedChatModel.tool_runner()`` (``scripted/tools``) also calls tools when the
user asks in the form ``call <tool> {json arguments}``, and answers with the tools' outputs once they return;
``ScriptedChatModel.prompt_echo()`` (``scripted/prompt``) answers with the whole prompt it was sent, one
``role: text`` paragraph per message, to see what a bot sends its model.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import re
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from plait.models.binding import ToolBinding
from plait.schema import Message, PlaitError, ToolCall, ToolSpec, Usage

Reply = str | Message | BaseException | Callable[[Sequence[Message]], "str | Message"]

_TOKEN = re.compile(r"\s*\S+(?:\s+\Z)?|\s+")  # a word with the space before it; trailing space joins the last
_ids = itertools.count(1)
RECORDED_CALLS = 1000


class ScriptExhausted(PlaitError):
    """The model was called more times than its script has replies (and it does not loop)."""


def count_tokens(text: str) -> int:
    """The scripted model's token count: whitespace-separated words, as it streams them."""
    return len(text.split())


class ScriptedChatModel(ToolBinding):
    """Answers from a script of replies, in order; each reply is a string, a Message, a function of the
    conversation, or an exception to raise (to rehearse provider failures). Streams words one chunk at a
    time, with optional delays, and tool-call arguments in pieces, as real providers do."""

    def __init__(
        self,
        replies: Sequence[Reply] = (),
        *,
        model_id: str = "scripted/script",
        loop: bool = False,
        token_delay: float = 0.0,
        first_token_delay: float = 0.0,
        tools: Sequence[ToolSpec] = (),
        tool_choice: str = "auto",
    ) -> None:
        if token_delay < 0 or first_token_delay < 0:
            raise ValueError("delays must be >= 0")
        self.model_id = model_id
        self.script = _Script(replies=list(replies), loop=loop)
        self.token_delay = token_delay
        self.first_token_delay = first_token_delay
        self.tools = list(tools)
        self.tool_choice = tool_choice

    @property
    def calls(self) -> list[list[Message]]:
        """The conversations the model (and its ``with_tools`` copies) answered, the latest
        ``RECORDED_CALLS``, for assertions."""
        return list(self.script.calls)

    @classmethod
    def echo(cls, **options: Any) -> ScriptedChatModel:
        """``scripted/echo``: replies with the text of the last user message."""
        return cls([_echo], model_id="scripted/echo", loop=True, **options)

    @classmethod
    def tool_runner(cls, **options: Any) -> ScriptedChatModel:
        """``scripted/tools``: echo, except ``call <tool> {args}`` calls the tool and tool outputs are answered."""
        return cls([_call_or_echo], model_id="scripted/tools", loop=True, **options)

    @classmethod
    def prompt_echo(cls, **options: Any) -> ScriptedChatModel:
        """``scripted/prompt``: answers with the prompt, ``role: text`` per message."""
        return cls([_prompt], model_id="scripted/prompt", loop=True, **options)

    @staticmethod
    def tool_call(name: str, arguments: dict[str, Any] | str, *, call_id: str | None = None) -> Message:
        """A scripted reply that calls a tool; arguments given as a dict are sent as JSON."""
        text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
        return Message.assistant(tool_calls=[ToolCall(id=call_id or f"call_{next(_ids)}", name=name, arguments=text)])

    async def generate(self, messages: Sequence[Message], **options: Any) -> Message:
        reply = self._next_reply(messages)
        if self.first_token_delay:
            await asyncio.sleep(self.first_token_delay)
        return reply

    async def stream(self, messages: Sequence[Message], **options: Any) -> AsyncIterator[Message]:
        reply = self._next_reply(messages)
        if self.first_token_delay:
            await asyncio.sleep(self.first_token_delay)
        if reply.reasoning:
            yield Message(role="assistant", reasoning=reply.reasoning)
        first = True
        for token in _TOKEN.findall(reply.text) if isinstance(reply.content, str) else [reply.content]:
            if not first and self.token_delay:
                await asyncio.sleep(self.token_delay)
            first = False
            yield Message(role="assistant", content=token)
        for index, call in enumerate(reply.tool_calls):
            yield Message(role="assistant", tool_calls=[ToolCall(id=call.id, name=call.name, index=index)])
            for piece in _pieces(call.arguments):
                if self.token_delay:
                    await asyncio.sleep(self.token_delay)
                yield Message(role="assistant", tool_calls=[ToolCall(arguments=piece, index=index)])
        yield Message(role="assistant", finish_reason=reply.finish_reason, usage=reply.usage)

    def _next_reply(self, messages: Sequence[Message]) -> Message:
        reply = self.script.next(messages, self.model_id)
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply):
            reply = reply(messages)
        message = Message.assistant(reply) if isinstance(reply, str) else copy.deepcopy(reply)
        prompt = sum(count_tokens(m.text) for m in messages)
        completion = count_tokens(message.text) + sum(count_tokens(c.arguments) for c in message.tool_calls)
        message.usage = Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)
        message.finish_reason = "tool_calls" if message.tool_calls else "stop"
        return message


@dataclass(slots=True)
class _Script:
    replies: list[Reply]
    loop: bool
    position: int = 0
    count: int = 0
    # the latest conversations only: a looping script serving a long-lived server must not grow without end
    calls: deque[list[Message]] = field(default_factory=lambda: deque(maxlen=RECORDED_CALLS))

    def next(self, messages: Sequence[Message], model_id: str) -> Reply:
        self.calls.append(list(messages))
        self.count += 1
        if self.position >= len(self.replies):
            if not self.loop or not self.replies:
                raise ScriptExhausted(
                    f"{model_id}: called {self.count} times but the script has {len(self.replies)} replies"
                )
            self.position = 0
        reply = self.replies[self.position]
        self.position += 1
        return reply


def _echo(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return message.text
    return ""


def _prompt(messages: Sequence[Message]) -> str:
    return "\n\n".join(f"{message.role}: {message.text}" for message in messages)


_CALL = re.compile(r"\s*call\s+([A-Za-z_][\w.-]*)\s*(\{.*\})?\s*\Z", re.DOTALL)


def _call_or_echo(messages: Sequence[Message]) -> str | Message:
    """A turn ending in tool outputs is answered with them; ``call name {args}`` calls; anything else echoes."""
    outputs = []
    for message in reversed(messages):
        if message.role != "tool":
            break
        outputs.append(message.text)
    if outputs:
        return "\n".join(reversed(outputs))
    text = _echo(messages)
    match = _CALL.match(text) if messages and messages[-1].role == "user" else None
    if match is None:
        return text
    return ScriptedChatModel.tool_call(match[1], match[2] or "{}")


def _pieces(arguments: str, size: int = 8) -> list[str]:
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]
