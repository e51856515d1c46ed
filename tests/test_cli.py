"""The plait command as a user types it."""

from __future__ import annotations

from typer.testing import CliRunner

from plait.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.strip() == "0.1.0"


def test_chat_one_question_streams_the_answer() -> None:
    result = runner.invoke(app, ["chat", "--model", "scripted/echo", "hello there"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "hello there"


def test_chat_repl_answers_each_line_and_exits() -> None:
    result = runner.invoke(app, ["chat", "-m", "scripted/echo"], input="first\n/reset\nsecond\n/exit\n")
    assert result.exit_code == 0, result.output
    assert "model> first" in result.output
    assert "model> second" in result.output


def test_chat_with_an_unusable_model_exits_1_with_a_clear_message() -> None:
    result = runner.invoke(app, ["chat", "-m", "nowhere/model", "hi"])
    assert result.exit_code == 1
    assert "unknown provider 'nowhere'" in result.output
    assert "Traceback" not in result.output
