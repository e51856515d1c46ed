"""``plait chat``: one question, or a REPL with streamed answers, against any model id."""

from __future__ import annotations

import asyncio
from typing import Any

import typer
from rich.console import Console

from plait.models.errors import ModelError
from plait.models.registry import get_model
from plait.schema import Message, PlaitError

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def chat(
    message: str | None = typer.Argument(None, help="Ask this and exit; without it, open a REPL."),
    model: str = typer.Option("local/gemma3-270m", "--model", "-m", help="A model id, e.g. openai/gpt-4o."),
    system: str | None = typer.Option(None, "--system", "-s", help="A system prompt."),
    temperature: float | None = typer.Option(None, help="Sampling temperature."),
    max_tokens: int | None = typer.Option(None, help="Cap on the answer's length in tokens."),
) -> None:
    """Chat with a model; answers stream as they are generated."""
    options: dict[str, Any] = {}
    if temperature is not None:
        options["temperature"] = temperature
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    history = [Message.system(system)] if system else []
    try:
        if message is not None:
            asyncio.run(_answer(model, [*history, Message.user(message)], options))
        else:
            _repl(model, history, options)
    except (ModelError, PlaitError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


async def _answer(model_id: str, messages: list[Message], options: dict[str, Any]) -> Message:
    model = get_model(model_id)
    chunks: list[Message] = []
    async for chunk in model.stream(messages, **options):
        chunks.append(chunk)
        if chunk.text:
            console.print(chunk.text, end="", markup=False, highlight=False, soft_wrap=True)
    console.print()
    from plait.schema import concat

    return concat(chunks) if chunks else Message.assistant("")


def _repl(model_id: str, history: list[Message], options: dict[str, Any]) -> None:
    console.print(f"[dim]chatting with {model_id} — /reset clears the history, /exit or Ctrl-D quits[/dim]")
    base = list(history)
    with asyncio.Runner() as runner:
        while True:
            try:
                text = console.input("[bold cyan]you>[/bold cyan] ").strip()
            except (EOFError, KeyboardInterrupt):
                console.print()
                return
            if text in ("/exit", "/quit"):
                return
            if text == "/reset":
                history = list(base)
                continue
            if not text:
                continue
            history.append(Message.user(text))
            console.print("[bold green]model>[/bold green] ", end="")
            answer = runner.run(_answer(model_id, history, options))
            history.append(Message.assistant(answer.text, tool_calls=answer.tool_calls))
