"""Structured logs: stdlib records come out as JSON with the bound log id, workspace and run id, and no
credential survives into a line, in the message, a field or a traceback."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from plait.observability import context
from plait.observability.logs import configure_logging
from plait.observability.secrets import MASK, mask_event, mask_secrets

TOKEN = "pat_" + "Q2f9xk3LmZ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9s"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("INFO", "json")
    out = io.StringIO()
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    try:
        yield out
    finally:
        root.handlers, root.level = saved[0], saved[1]
        structlog.reset_defaults()


def _events(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_stdlib_records_are_json_with_the_bound_ids(lines: io.StringIO) -> None:
    context.LOGID.set("log-1")
    context.WORKSPACE.set("ws-1")
    context.RUN.set("chat-1")
    logging.getLogger("plait.test").warning("chat %s failed", "chat-1")
    (event,) = _events(lines)
    assert event["event"] == "chat chat-1 failed" and event["level"] == "warning"
    assert (event["logid"], event["workspace"], event["run_id"]) == ("log-1", "ws-1", "chat-1")


def test_no_credential_reaches_a_line(lines: io.StringIO) -> None:
    log = logging.getLogger("plait.test")
    log.info("authenticated %s", TOKEN)
    log.info("header Authorization: Bearer %s", TOKEN)
    try:
        raise ValueError(f"provider refused api_key={TOKEN}")
    except ValueError:
        log.exception("call failed")
    structlog.get_logger("plait.test").info("configured", api_key="sk-live-123456789", prompt_tokens=12)
    text = lines.getvalue()
    assert TOKEN not in text and "sk-live-123456789" not in text
    events = _events(lines)
    assert events[-1]["api_key"] == MASK and events[-1]["prompt_tokens"] == 12
    assert "ValueError" in str(events[2]["exception"])


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        (f"key {TOKEN} used", TOKEN),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz"),
        ("OPENAI_API_KEY=sk-proj-abcdefghijklmnop", "abcdefghijklmnop"),
        ('{"password": "correct horse battery"}', "correct"),
        ("gemini AIzaSyA1234567890abcdefghijklmnopq", "AIzaSyA1234567890"),
    ],
)
def test_masking_hides_secrets(text: str, hidden: str) -> None:
    assert hidden not in mask_secrets(text)


def test_masking_keeps_ordinary_text() -> None:
    text = "max_tokens=1000 for chat 7534708905771159552 in 12 ms"
    assert mask_secrets(text) == text
    assert mask_event(None, "info", {"event": "x", "tokens": 3, "secret_key": "v"}) == {
        "event": "x",
        "tokens": 3,
        "secret_key": MASK,
    }
