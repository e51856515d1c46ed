"""``plait workflows run``, ``import`` and ``export``."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from plait.cli import app

runner = CliRunner()

HELLO = """
name: hello
inputs:
  - {name: name, type: string}
  - {name: times, type: integer, required: false, default: 2}
outputs:
  - {name: greeting, type: string}
nodes:
  - {id: start, type: start}
  - id: greet
    type: llm
    config: {model: scripted/echo, prompt: "Hello {{ name }} x{{ times }}"}
    inputs: {name: {ref: {node: start, output: name}}, times: {ref: {node: start, output: times}}}
  - id: calc
    type: tool
    config: {tool: calculator}
    inputs: {expression: "6 * 7"}
  - id: end
    type: end
    inputs:
      greeting: {ref: {node: greet, output: text}}
      sum: {ref: {node: calc, output: output.result}}
edges:
  - {source: start, target: greet}
  - {source: start, target: calc}
  - {source: greet, target: end}
  - {source: calc, target: end}
"""


def write(tmp_path: Path, text: str = HELLO) -> str:
    path = tmp_path / "hello.yaml"
    path.write_text(text)
    return str(path)


def test_run_prints_events_then_the_outputs(tmp_path: Path) -> None:
    result = runner.invoke(app, ["workflows", "run", write(tmp_path), "--input", "name=Ada", "--input", "times=3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "▶ start (start) inputs={}"
    assert any(line.startswith("✔ greet") and '"Hello Ada x3"' in line for line in lines)
    outputs = json.loads(result.output[result.output.index("{\n") :])
    assert outputs == {"greeting": "Hello Ada x3", "sum": 42}


def test_run_json_lines(tmp_path: Path) -> None:
    result = runner.invoke(app, ["workflows", "run", write(tmp_path), "-i", "name=Bo", "--json"])
    events = [json.loads(line) for line in result.output.splitlines()]
    assert events[0]["event"] == "NodeStarted" and events[-1]["event"] == "RunFinished"
    assert events[-1]["outputs"] == {"greeting": "Hello Bo x2", "sum": 42}
    assert all(e["duration"] >= 0 for e in events if e["event"] == "NodeFinished")


def test_bad_inputs_and_invalid_documents_exit_2_with_the_reasons(tmp_path: Path) -> None:
    result = runner.invoke(app, ["workflows", "run", write(tmp_path), "--input", "times=many"])
    assert result.exit_code == 2 and "--input times: 'many' is not a valid integer" in result.output
    missing = runner.invoke(app, ["workflows", "run", write(tmp_path)])
    assert missing.exit_code == 2 and "name: required (string) and missing" in missing.output
    broken = runner.invoke(app, ["workflows", "run", write(tmp_path, HELLO.replace("type: tool", "type: toool"))])
    assert broken.exit_code == 2 and "calc.type: unknown node type 'toool'" in broken.output


def test_a_failed_run_exits_1(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["workflows", "run", write(tmp_path, HELLO.replace('"6 * 7"', '"6 / 0"')), "-i", "name=A"]
    )
    assert result.exit_code == 1 and "✘ calc" in result.output and "run " in result.output and "failed" in result.output


def test_import_prints_the_id_last_and_export_reads_it_back(tmp_path: Path) -> None:
    data_dir = ["--data-dir", str(tmp_path / "data")]
    imported = runner.invoke(app, ["workflows", "import", write(tmp_path), "--publish", *data_dir])
    assert imported.exit_code == 0, imported.output
    workflow_id = imported.output.splitlines()[-1]
    exported = runner.invoke(app, ["workflows", "export", workflow_id, *data_dir])
    assert exported.exit_code == 0, exported.output
    assert yaml.safe_load(exported.output)["nodes"] == yaml.safe_load(HELLO)["nodes"]
    again = runner.invoke(app, ["workflows", "import", write(tmp_path), *data_dir])
    assert again.output.splitlines()[-1] == workflow_id
