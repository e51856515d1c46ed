"""The studio's workflow, usage and tool-output endpoints against a real server: the editor's check (problems
pinned to nodes and lines), create, save, publish, import and export, test runs of the draft answered from the
page, the run history, usage per agent and day, answering a paused chat; bad input and other workspaces."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from live_server import serve

from plait.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"
APPROVAL = (EXAMPLES / "approval.yaml").read_text(encoding="utf-8")
STUDIO = {"x-plait-studio": "1"}
BROKEN = """version: 1
name: broken
nodes:
  - {id: start, type: start}
  - id: shout
    type: no_such_type
  - {id: end, type: end}
edges:
  - {source: start, target: end}
  - {source: end, target: ghost}
"""


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _code(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, response.json()["code"]


def _until(api: httpx.Client, workflow_id: str, run_id: str, *statuses: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        run: dict[str, Any] = _ok(api.get(f"/workflows/{workflow_id}/runs/{run_id}"))
        if run["status"] in statuses:
            return run
        assert run["status"] == "running" and time.monotonic() < deadline, run
        time.sleep(0.05)


@pytest.fixture(scope="module")
def approval(api: httpx.Client) -> dict[str, Any]:
    workflow: dict[str, Any] = _ok(api.post("/workflows/import", json={"text": APPROVAL}))
    return workflow


@pytest.fixture(scope="module")
def other_workspace(base_url: str, make_key: Callable[..., str]) -> Iterator[httpx.Client]:
    """A key of another workspace: the same server, none of this workspace's ids."""
    token = make_key("--workspace", "elsewhere")
    headers = {"authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url + "/api/studio", headers=headers, timeout=30) as client:
        yield client


def test_check_pins_each_problem_to_its_node_and_line(api: httpx.Client) -> None:
    found = _ok(api.post("/workflows/check", json={"text": BROKEN}))
    assert found["document"]["name"] == "broken"  # still drawn while it is wrong
    by_node = {(p["node_id"], p["code"]): p for p in found["problems"]}
    assert by_node[("shout", "unknown_type")]["line"] == 5
    assert any(p["code"] != "unknown_type" and "ghost" in p["message"] for p in found["problems"])
    clean = _ok(api.post("/workflows/check", json={"text": APPROVAL}))
    assert clean["problems"] == [] and [n["id"] for n in clean["document"]["nodes"]] == ["start", "ask", "end"]
    syntax = _ok(api.post("/workflows/check", json={"text": "name: [unclosed\nnodes: {"}))
    assert syntax["document"] is None and syntax["problems"][0]["code"] == "syntax"
    assert syntax["problems"][0]["line"] >= 2
    listed = _ok(api.post("/workflows/check", json={"text": "- just\n- a list"}))
    assert listed["problems"][0]["code"] == "invalid_document"
    json_text = json.dumps(yaml.safe_load(APPROVAL))
    assert _ok(api.post("/workflows/check", json={"text": json_text}))["problems"] == []


def test_a_workflow_is_created_saved_published_and_listed(api: httpx.Client) -> None:
    text = APPROVAL.replace("name: approval", "name: editing")
    made = _ok(api.post("/workflows", json={"text": text}), 201)
    assert made["name"] == "editing" and made["published_version"] is None and "name: editing" in made["text"]
    changed = text.replace("Approve? {{ request }}", "Allow {{ request }}?")
    saved = _ok(api.put(f"/workflows/{made['id']}", json={"text": changed}))
    assert saved["document"]["nodes"][1]["config"]["question"] == "Allow {{ request }}?"
    published = _ok(api.post(f"/workflows/{made['id']}/publish"))
    assert (
        published["version"] and _ok(api.get(f"/workflows/{made['id']}"))["published_version"] == published["version"]
    )
    assert any(w["id"] == made["id"] for w in _ok(api.get("/workflows"))["items"])


def test_bad_workflow_input_is_a_4000_or_404(api: httpx.Client, approval: dict[str, Any]) -> None:
    assert _code(api.post("/workflows", json={"text": BROKEN})) == (400, 4000)
    assert "shout" in api.post("/workflows", json={"text": BROKEN}).json()["msg"]
    assert _code(api.post("/workflows", json={"text": APPROVAL})) == (400, 4000)  # the name is taken
    assert _code(api.post("/workflows", json={"text": "a: [b"})) == (400, 4000)
    assert _code(api.post("/workflows", json={"text": ""})) == (400, 4000)
    assert _code(api.post("/workflows/import", json={"text": "[1, 2]"})) == (400, 4000)
    assert _code(api.put(f"/workflows/{approval['id']}", json={"text": BROKEN})) == (400, 4000)
    assert _code(api.put(f"/workflows/{approval['id']}", json={"text": APPROVAL, "colour": 1})) == (400, 4000)
    assert _code(api.get(f"/workflows/{approval['id']}/export", params={"format": "xml"})) == (400, 4000)
    assert _code(api.get("/workflows", params={"page_size": 0})) == (400, 4000)
    for method, path in [("GET", "/workflows/1"), ("POST", "/workflows/1/publish"), ("GET", "/workflows/1/export")]:
        assert _code(api.request(method, path)) == (404, 4200), path
    assert _code(api.put("/workflows/1", json={"text": APPROVAL})) == (404, 4200)
    assert _code(api.get("/workflows/1/runs")) == (404, 4200)
    assert _code(api.post("/workflows/1/runs", json={})) == (404, 4200)
    assert _code(api.get(f"/workflows/{approval['id']}/runs/1")) == (404, 4200)


def test_export_and_import_round_trip(api: httpx.Client, approval: dict[str, Any]) -> None:
    exported = api.get(f"/workflows/{approval['id']}/export")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/yaml")
    assert 'filename="approval.yaml"' in exported.headers["content-disposition"]
    as_json = api.get(f"/workflows/{approval['id']}/export", params={"format": "json"})
    assert json.loads(as_json.text) == yaml.safe_load(exported.text) == approval["document"]
    again = _ok(api.post("/workflows/import", json={"text": as_json.text}))
    assert again["id"] == approval["id"] and again["document"] == approval["document"]  # the same workflow's draft


def test_a_test_run_asks_its_question_and_ends_with_the_answer(api: httpx.Client, approval: dict[str, Any]) -> None:
    wid = approval["id"]
    started = _ok(api.post(f"/workflows/{wid}/runs", json={"inputs": {"request": "a new laptop"}}), 201)
    run = _until(api, wid, started["id"], "interrupted")
    question = run["question"]
    assert (
        question["node_id"] == "ask" and question["text"] == "Approve? a new laptop" and question["kind"] == "question"
    )
    waiting = {node["node_id"]: node for node in run["nodes"]}
    assert waiting["start"]["status"] == "success" and waiting["ask"]["status"] == "interrupted"
    assert waiting["ask"]["inputs"] == {"request": "a new laptop"}

    answer = {"event_id": question["event_id"], "answer": "yes"}
    _ok(api.post(f"/workflows/{wid}/runs/{run['id']}/answer", json=answer))
    done = _until(api, wid, run["id"], "success", "fail")
    assert done["status"] == "success" and json.loads(done["output"])["decision"] == "yes"
    finished = [node for node in done["nodes"] if node["status"] == "success"]
    ask = next(node for node in finished if node["node_id"] == "ask")
    assert ask["outputs"] == {"answer": "yes"} and ask["duration_ms"] is not None
    assert done["question"] is None and done["version"] == "draft"
    history = _ok(api.get(f"/workflows/{wid}/runs"))
    assert history["items"][0]["id"] == run["id"] and history["items"][0]["status"] == "success"

    again = api.post(f"/workflows/{wid}/runs/{run['id']}/answer", json=answer)
    assert _code(again) == (400, 4000) and "finished" in again.json()["msg"]  # nothing waits any more


def test_bad_runs_and_answers_are_refused(api: httpx.Client, approval: dict[str, Any]) -> None:
    wid = approval["id"]
    missing = api.post(f"/workflows/{wid}/runs", json={"inputs": {}})
    assert _code(missing) == (400, 4000) and "request" in missing.json()["msg"]
    assert _code(api.post(f"/workflows/{wid}/runs", json={"inputs": {"request": 3}, "x": 1})) == (400, 4000)
    run = _until(
        api, wid, _ok(api.post(f"/workflows/{wid}/runs", json={"inputs": {"request": "x"}}), 201)["id"], "interrupted"
    )
    path = f"/workflows/{wid}/runs/{run['id']}/answer"
    assert _code(api.post(path, json={"event_id": "1/1", "answer": "yes"})) == (400, 4000)
    assert _code(api.post(path, json={"event_id": f"{run['id']}/9", "answer": "yes"})) == (400, 4000)
    assert _code(api.post(path, json={"answer": "yes"})) == (400, 4000)
    assert _until(api, wid, run["id"], "interrupted")["question"]["event_id"] == run["question"]["event_id"]


def test_another_workspace_sees_none_of_it(
    api: httpx.Client, other_workspace: httpx.Client, approval: dict[str, Any]
) -> None:
    wid = approval["id"]
    run = _until(
        api, wid, _ok(api.post(f"/workflows/{wid}/runs", json={"inputs": {"request": "y"}}), 201)["id"], "interrupted"
    )
    other = other_workspace
    assert all(w["id"] != wid for w in _ok(other.get("/workflows"))["items"])
    for method, path, body in [
        ("GET", f"/workflows/{wid}", None),
        ("PUT", f"/workflows/{wid}", {"text": APPROVAL}),
        ("POST", f"/workflows/{wid}/publish", None),
        ("GET", f"/workflows/{wid}/export", None),
        ("GET", f"/workflows/{wid}/runs", None),
        ("POST", f"/workflows/{wid}/runs", {"inputs": {"request": "z"}}),
        ("GET", f"/workflows/{wid}/runs/{run['id']}", None),
        (
            "POST",
            f"/workflows/{wid}/runs/{run['id']}/answer",
            {"event_id": run["question"]["event_id"], "answer": "no"},
        ),
    ]:
        assert _code(other.request(method, path, json=body)) == (404, 4200), path
    assert _until(api, wid, run["id"], "interrupted")["status"] == "interrupted"  # nobody else answered it


def _agent(api: httpx.Client, name: str, model_id: str, **draft: Any) -> dict[str, Any]:
    agent: dict[str, Any] = _ok(api.post("/agents", json={"name": name, "model_id": model_id}), 201)
    if draft:
        agent = _ok(api.put(f"/agents/{agent['id']}", json={**agent["draft"], **draft}))
    return agent


def _turn(api: httpx.Client, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    with api.stream("POST", path, json=body) as response:
        assert response.status_code == 200, response.read()
        return [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]


def test_usage_counts_calls_and_tokens_per_agent_and_day(api: httpx.Client, other_workspace: httpx.Client) -> None:
    agent = _agent(api, "Counted", "scripted/echo")
    for words in ("one two three", "four five"):
        _turn(api, f"/agents/{agent['id']}/chat", {"message": words})
    report = _ok(api.get("/usage", params={"days": 7}))
    assert len(report["days"]) == 7 and report["days"][-1] == time.strftime("%Y-%m-%d", time.gmtime())
    (point,) = [p for p in report["points"] if p["agent_id"] == agent["id"]]
    assert point["day"] == report["days"][-1] and point["calls"] == 2
    assert point["output_tokens"] == 5 and point["input_tokens"] > 0  # the echo says each word back
    assert {"id": agent["id"], "name": "Counted"} in report["agents"]
    assert all(p["agent_id"] != agent["id"] for p in _ok(other_workspace.get("/usage"))["points"])
    for days in (0, 400, "many"):
        assert _code(api.get("/usage", params={"days": days})) == (400, 4000)


def test_a_paused_turn_is_answered_from_the_page(api: httpx.Client) -> None:
    tool = {"name": "get_location", "description": "Where the user is"}
    agent = _agent(api, "Locator", "scripted/tools", client_tools=[tool])
    assert agent["draft"]["client_tools"][0]["name"] == "get_location"
    events = _turn(api, f"/agents/{agent['id']}/chat", {"message": "call get_location {}"})
    paused = next(e for e in events if e["event"] == "chat" and e["status"] == "requires_action")
    (call,) = paused["tool_calls"]
    assert call["name"] == "get_location" and call["approval"] is False
    ids = {"conversation_id": paused["conversation_id"], "chat_id": paused["chat_id"]}
    assert _code(api.post("/chats/submit_tool_outputs", json=ids | {"tool_outputs": []})) == (400, 4000)
    wrong = [{"tool_call_id": "nope", "output": "x"}]
    assert _code(api.post("/chats/submit_tool_outputs", json=ids | {"tool_outputs": wrong})) == (400, 4000)

    outputs = [{"tool_call_id": call["id"], "output": "Lisbon"}]
    answered = _turn(api, "/chats/submit_tool_outputs", ids | {"tool_outputs": outputs})
    assert [e for e in answered if e["event"] == "chat"][-1]["status"] == "completed"
    answer = [e["message"]["content"] for e in answered if e["event"] == "message" and e["message"]["type"] == "answer"]
    assert "Lisbon" in answer[-1]
    again = api.post("/chats/submit_tool_outputs", json=ids | {"tool_outputs": outputs})
    assert _code(again) == (400, 4000)  # it no longer waits
    unknown = {"conversation_id": ids["conversation_id"], "chat_id": "1", "tool_outputs": outputs}
    assert _code(api.post("/chats/submit_tool_outputs", json=unknown)) == (404, 4200)
    kept = _ok(api.put(f"/agents/{agent['id']}", json={k: v for k, v in agent["draft"].items() if k != "client_tools"}))
    assert kept["draft"]["client_tools"] == agent["draft"]["client_tools"]  # left out: kept as they were


@pytest.fixture(scope="module")
def pg_api(new_pg_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The loopback owner of a second server, on a fresh PostgreSQL database of the machine's server."""
    data_dir = tmp_path_factory.mktemp("studio-pg")
    settings = Settings.load(data_dir=data_dir, database_url=new_pg_database(), embedder="hashing")
    with serve(settings) as url, httpx.Client(base_url=url + "/api/studio", headers=STUDIO, timeout=30) as client:
        yield client


def test_usage_and_run_history_on_postgresql(pg_api: httpx.Client) -> None:
    """The usage sums (JSON fields, whole days) and the run history read the same on PostgreSQL as on SQLite."""
    agent = _agent(pg_api, "On Postgres", "scripted/echo")
    _turn(pg_api, f"/agents/{agent['id']}/chat", {"message": "alpha beta gamma"})
    (point,) = _ok(pg_api.get("/usage", params={"days": 3}))["points"]
    assert point["agent_id"] == agent["id"] and point["calls"] == 1 and point["output_tokens"] == 3
    workflow = _ok(pg_api.post("/workflows/import", json={"text": APPROVAL}))
    started = _ok(pg_api.post(f"/workflows/{workflow['id']}/runs", json={"inputs": {"request": "pg"}}), 201)
    run = _until(pg_api, workflow["id"], started["id"], "interrupted")
    answer = {"event_id": run["question"]["event_id"], "answer": "no"}
    _ok(pg_api.post(f"/workflows/{workflow['id']}/runs/{run['id']}/answer", json=answer))
    assert json.loads(_until(pg_api, workflow["id"], run["id"], "success")["output"])["decision"] == "no"
    assert [item["id"] for item in _ok(pg_api.get(f"/workflows/{workflow['id']}/runs"))["items"]] == [run["id"]]
