"""The plait command as a user types it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plait.cli import app

runner = CliRunner()
# The evaluation sets sit beside the repository in the workspace, not in a clone of it.
SCIFACT = Path(__file__).resolve().parents[2] / "shared" / "data" / "retrieval" / "scifact"


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


def test_chat_with_the_local_model_answers_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["chat", "--model", "local/gemma3-270m", "What is the capital of France?"])
    assert result.exit_code == 0, result.output
    assert "paris" in result.output.lower()


def test_kb_commands_create_add_search_and_report_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_DATA_DIR", str(tmp_path / "data"))
    note = tmp_path / "tides.txt"
    note.write_text("Tides rise and fall because the moon pulls on the oceans.", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert runner.invoke(app, ["kb", "create", "notes"]).exit_code == 0
    assert "already exists" in runner.invoke(app, ["kb", "create", "notes"]).output
    added = runner.invoke(app, ["kb", "add", "notes", str(note), str(empty)])
    assert added.exit_code == 1
    assert "1 ready, 1 failed" in added.output
    found = runner.invoke(app, ["kb", "search", "notes", "moon oceans", "--mode", "keyword"])
    assert found.exit_code == 0
    assert "tides.txt" in found.output
    missing = runner.invoke(app, ["kb", "search", "nope", "x"])
    assert missing.exit_code == 1
    assert "no knowledge base named 'nope'" in missing.output


def test_eval_retrieval_reports_metrics_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not SCIFACT.is_dir():
        pytest.skip("../shared/data/retrieval/scifact is absent: the evaluation sets are not in this clone")
    monkeypatch.setenv("PLAIT_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["eval", "retrieval", "--dataset", str(SCIFACT), "--mode", "bm25", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["queries"] == 300
    assert report["ndcg_at_10"] > 0.675


def test_eval_retrieval_refuses_a_folder_without_qrels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAIT_DATA_DIR", str(tmp_path))
    bad = runner.invoke(app, ["eval", "retrieval", "--dataset", str(tmp_path), "--mode", "bm25"])
    assert bad.exit_code == 1
    assert "no qrels/test.tsv" in bad.output
