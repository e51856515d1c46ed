"""Prompt formats and output decoding for the local llama.cpp model (``plait.models.local``).

Pure Python, no llama.cpp import: what the model is shown, and how the text it produces is cut and
decoded, can be read and tested without loading one.

Two formats render a conversation into one prompt string:

- ``CompletionFormat`` for base (pretrained) models, which follow documents, not chat turns. A conversation
  becomes a question-and-answer sheet: the system text as a preamble, a header line, then ``Q:``/``A:``
  turns (``问：``/``答：`` when the question is Chinese), tool calls and their results on lines of their own.
  Measured on gemma-3-270m (base), greedy, ten simple questions per language: with the header it gets 7
  of 10 right in English and in Chinese, answers in one line and ends the turn by itself; without it, 5
  of 10 in English and 1 to 3 of 10 in Chinese, mostly as numbered lists that loop.
- ``ChatTemplateFormat`` for instruction-tuned models: the GGUF's own Jinja chat template.

Tool calls in both formats are decided by constrained decoding after a cue: ``Action:`` followed by a
grammar that allows only the tool names (and the answer option), then ``Arguments:`` followed by a grammar
built from the tool's JSON Schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from plait.schema import Message, ToolCall, ToolSpec

DECISION_CUE = "Action:"
ARGUMENTS_CUE = "\nArguments:"

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True, slots=True)
class _Labels:
    header: str
    question: str
    answer: str


_ENGLISH = _Labels("The following are questions and their correct answers.", "Q: ", "A:")
# "常识问题" (general-knowledge questions) measured best of the Chinese headers tried: 7 of 10 simple
# questions right, against 5 of 10 for a plain "问题及其正确答案".
_CHINESE = _Labels("以下是常识问题及其正确答案。", "问：", "答：")


def choice_grammar(options: Sequence[str]) -> str:
    """A GBNF grammar that allows exactly one of ``options``, each after one space (it follows a cue)."""
    return "root ::= " + " | ".join(_gbnf_literal(" " + option) for option in options)


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def tools_block(tools: Sequence[ToolSpec]) -> str:
    """The tools as the model reads them: one line each, with the JSON Schema of their arguments."""
    lines = ["Tools that can be called to answer:"]
    for tool in tools:
        properties = json.dumps(tool.parameters.get("properties", {}), ensure_ascii=False)
        description = f" {tool.description}" if tool.description else ""
        lines.append(f"- {tool.name}:{description} Arguments: {properties}")
    return "\n".join(lines)


def _call_line(call: ToolCall, result: str | None) -> str:
    line = f"{call.name}({call.arguments})"
    return line if result is None else f"{line} returned: {result}"


def _results_by_call(messages: Sequence[Message]) -> dict[str, str]:
    return {m.tool_call_id: m.text for m in messages if m.role == "tool" and m.tool_call_id}


def _calls_made(messages: Sequence[Message]) -> set[str]:
    return {call.id for m in messages if m.role == "assistant" for call in m.tool_calls if call.id}


class CompletionFormat:
    """Question-and-answer sheet for base models. Its stop sequences end the answer at the turn's end."""

    special_tokens = False  # the text is the user's: "<start_of_turn>" in it stays text

    def stops(self, tools: Sequence[ToolSpec]) -> tuple[str, ...]:
        """The turn's end, and a line that starts to imitate a tool call."""
        return ("\n\n", "\nQ:", "\nA:", "\n问：", "\n答：", *(f"\n{tool.name}(" for tool in tools))

    def body(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> str:
        """Everything up to the answer cue, the last line ended."""
        labels = _CHINESE if _HAN.search(_last_user_text(messages)) else _ENGLISH
        results = _results_by_call(messages)
        answered = _calls_made(messages)
        # In this order, measured: system text right before the header (a context it holds is used), the
        # tools after it (before it, the model echoes the question instead of answering from a result).
        preamble = [m.text.strip() for m in messages if m.role == "system" and m.text.strip()]
        preamble.append(labels.header)
        if tools:
            preamble.append(tools_block(tools))
        turns: list[list[str]] = []
        for message in messages:
            if message.role == "user":
                turns.append([labels.question + message.text.strip()])
                continue
            if not turns:
                turns.append([])
            if message.role == "assistant":
                if message.text.strip():
                    turns[-1].append(_answer_line(labels, message.text.strip()))
                turns[-1].extend(_call_line(call, results.get(call.id)) for call in message.tool_calls)
            elif message.role == "tool" and message.tool_call_id not in answered:
                name = message.name or "tool"
                turns[-1].append(f"{name} returned: {message.text.strip()}")
        blocks = ["\n".join(preamble), *("\n".join(turn) for turn in turns if turn)]
        return "\n\n".join(blocks) + "\n"

    def answer_cue(self, messages: Sequence[Message]) -> str:
        return (_CHINESE if _HAN.search(_last_user_text(messages)) else _ENGLISH).answer


def _answer_line(labels: _Labels, text: str) -> str:
    return f"{labels.answer}{text}" if labels is _CHINESE else f"{labels.answer} {text}"


def _last_user_text(messages: Sequence[Message]) -> str:
    return next((m.text for m in reversed(messages) if m.role == "user"), "")


Renderer = Callable[[list[dict[str, str]]], str]


class ChatTemplateFormat:
    """The GGUF's chat template, for instruction-tuned models. ``render`` is the template, compiled by
    llama-cpp-python's Jinja formatter; the model ends its turn with an end-of-generation token, so no
    stop sequence is needed."""

    special_tokens = True  # the template writes its turn markers as text

    def stops(self, tools: Sequence[ToolSpec]) -> tuple[str, ...]:
        return ()

    def __init__(self, render: Renderer) -> None:
        self._render = render

    def body(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> str:
        """The template's prompt up to and with the start of the assistant's turn."""
        results = _results_by_call(messages)
        answered = _calls_made(messages)
        turns: list[tuple[str, str]] = []
        for message in messages:
            if message.role == "assistant":
                lines = [message.text.strip()] if message.text.strip() else []
                lines += [_call_line(call, None) for call in message.tool_calls]
                turns.append(("assistant", "\n".join(lines)))
                # Templates know user and assistant turns; a tool's result is told to the model as the user.
                turns += [("user", _call_line(c, results[c.id])) for c in message.tool_calls if c.id in results]
            elif message.role == "tool":
                if message.tool_call_id not in answered:
                    turns.append(("user", f"{message.name or 'tool'} returned: {message.text}"))
            else:
                turns.append((message.role, message.text))
        if tools:
            turns.insert(0, ("system", tools_block(tools)))
        return self._render(_merge_turns(turns))

    def answer_cue(self, messages: Sequence[Message]) -> str:
        return ""


def _merge_turns(turns: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Join neighbouring turns of one role: most templates insist that user and assistant alternate."""
    merged: list[dict[str, str]] = []
    for role, content in turns:
        if merged and merged[-1]["role"] == role:
            merged[-1]["content"] += "\n\n" + content
        else:
            merged.append({"role": role, "content": content})
    return merged


PromptFormat = CompletionFormat | ChatTemplateFormat


def repeated_call(messages: Sequence[Message], name: str, arguments: str) -> bool:
    """Whether the current turn (since the last user message) already made this exact call.

    Repeating a call whose result is in the prompt adds nothing; a small model that always picks a tool
    would otherwise call it forever.
    """
    wanted = _json_or_text(arguments)
    start = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1) + 1
    return any(
        call.name == name and _json_or_text(call.arguments) == wanted
        for message in messages[start:]
        if message.role == "assistant"
        for call in message.tool_calls
    )


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip()


class StopMatcher:
    """Cuts streamed text at the first stop sequence and trims it, holding back only what might still
    turn out to be a stop sequence or trailing whitespace, so a stream's chunks join into exactly the text
    a non-streamed call returns."""

    def __init__(self, stops: Iterable[str]) -> None:
        self._stops = [stop for stop in stops if stop]
        self._pending = ""
        self._started = False

    def feed(self, text: str) -> tuple[str, bool]:
        """Take new text; return what can be emitted now, and whether a stop sequence was reached."""
        self._pending += text
        cuts = [i for i in (self._pending.find(stop) for stop in self._stops) if i >= 0]
        if cuts:
            out = self._pending[: min(cuts)]
            self._pending = ""
            return self._emit(out).rstrip(), True
        hold = len(self._pending) - len(self._pending.rstrip())
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(self._pending)), hold, -1):
                if self._pending.endswith(stop[:size]):
                    hold = size
                    break
        cut = len(self._pending) - hold
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return self._emit(out), False

    def flush(self) -> str:
        """The held-back text at the end of generation, trailing whitespace dropped."""
        out, self._pending = self._pending, ""
        return self._emit(out).rstrip()

    def _emit(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        return text
