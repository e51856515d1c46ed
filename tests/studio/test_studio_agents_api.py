"""The Agents page's endpoints on a real server, on SQLite and on the machine's PostgreSQL: one version's whole
config (what the page diffs), the draft's knowledge search mode, workflows and built-in tools saved and read
back, the plugins an agent may bind (MCP servers labelled as such); bad values are 400 / 4000 naming the field,
unknown or foreign ids 404 / 4200."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import studio_client

MCP_ECHO = Path(__file__).resolve().parents[1] / "tools" / "mcp_echo_server.py"
APPROVAL = (Path(__file__).resolve().parents[2] / "examples" / "workflows" / "approval.yaml").read_text()
PLUGIN_SPEC = {
    "openapi": "3.0.0",
    "info": {"title": "weather", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:9"}],
    "paths": {"/forecast": {"get": {"operationId": "forecast", "responses": {"200": {"description": "ok"}}}}},
}


@dataclass(frozen=True)
class Studio:
    api: httpx.Client  # the loopback owner
    make_key: Callable[..., str]  # ``plait keys create`` options -> token


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def studio(
    request: pytest.FixtureRequest, new_pg_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Studio]:
    data_dir: Path = tmp_path_factory.mktemp(f"studio-agents-{request.param}")
    database_url = new_pg_database() if request.param == "postgresql" else ""
    with studio_client(data_dir, database_url) as (api, make_key):
        yield Studio(api=api, make_key=make_key)


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def _code(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, response.json()["code"]


def _agent(api: httpx.Client, name: str) -> dict[str, Any]:
    return _ok(api.post("/agents", json={"name": name, "model_id": "scripted/echo"}))


def _save(api: httpx.Client, agent: dict[str, Any], **change: Any) -> httpx.Response:
    return api.put(f"/agents/{agent['id']}", json={**agent["draft"], **change})


def test_each_version_keeps_its_whole_config(studio: Studio) -> None:
    api = studio.api
    agent = _agent(api, "Versioned")
    first = _ok(_save(api, agent, persona="Be brief.", model={"model_id": "scripted/echo", "temperature": 0.2}))
    one = _ok(api.post(f"/agents/{agent['id']}/publish"))["version"]
    _ok(_save(api, first, persona="Be brief.\nBe kind.", model={"model_id": "scripted/echo", "temperature": 0.7}))
    two = _ok(api.post(f"/agents/{agent['id']}/publish"))["version"]
    listed = _ok(api.get(f"/agents/{agent['id']}/versions"))["items"]
    assert [v["version"] for v in listed] == [two, one]
    older = _ok(api.get(f"/agents/{agent['id']}/versions/{one}"))
    newer = _ok(api.get(f"/agents/{agent['id']}/versions/{two}"))
    assert older["version"] == one and not older["online"] and newer["online"]
    assert older["connector_ids"] == ["1024"]
    assert older["config"]["persona"] == "Be brief." and older["config"]["model"]["temperature"] == 0.2
    assert newer["config"]["persona"] == "Be brief.\nBe kind." and newer["config"]["model"]["temperature"] == 0.7
    assert newer["config"] == _ok(api.get(f"/agents/{agent['id']}"))["draft"]  # the draft's own shape


def test_one_version_refuses_bad_and_foreign_ids(studio: Studio) -> None:
    api = studio.api
    agent = _agent(api, "Lookups")
    version = _ok(api.post(f"/agents/{agent['id']}/publish"))["version"]
    assert _code(api.get(f"/agents/{agent['id']}/versions/{int(version) + 1}")) == (404, 4200)
    assert _code(api.get(f"/agents/{agent['id']}/versions/123")) == (404, 4200)
    assert _code(api.get(f"/agents/1/versions/{version}")) == (404, 4200)
    for malformed in ("abc", "1.5", "-1", "1" * 20, "9" * 41, "１２"):
        response = api.get(f"/agents/{agent['id']}/versions/{malformed}")
        assert _code(response) == (400, 4000), malformed
        assert "version" in response.json()["msg"]
    token = studio.make_key("--workspace", "Agents elsewhere")
    with httpx.Client(base_url=api.base_url, headers={"authorization": f"Bearer {token}"}) as other:
        foreign = other.get(f"/agents/{agent['id']}/versions/{version}")
        assert _code(foreign) == (404, 4200) and version not in foreign.text


def test_search_mode_workflows_and_builtin_tools_are_saved_and_read_back(studio: Studio) -> None:
    api = studio.api
    agent = _agent(api, "Equipped")
    workflow = _ok(api.post("/workflows/import", json={"text": APPROVAL, "publish": True}))["id"]
    knowledge = {"dataset_ids": [], "auto_call": False, "search_strategy": 20}
    plugins = [
        {"plugin_id": "builtin.calculator", "api_id": "calculator"},
        {"plugin_id": "builtin.clock", "api_id": "current_time"},
    ]
    saved = _ok(_save(api, agent, knowledge=knowledge, workflow_ids=[workflow, workflow], plugins=plugins))
    read = _ok(api.get(f"/agents/{agent['id']}"))["draft"]
    assert saved["draft"] == read
    assert read["knowledge"] == knowledge and read["workflow_ids"] == [workflow] and read["plugins"] == plugins
    kept = _ok(api.put(f"/agents/{agent['id']}", json={k: v for k, v in read.items() if k != "workflow_ids"}))
    assert kept["draft"]["workflow_ids"] == [workflow]  # left out: kept
    cleared = _ok(_save(api, kept, workflow_ids=[], knowledge=knowledge | {"search_strategy": 1}))
    assert cleared["draft"]["workflow_ids"] == [] and cleared["draft"]["knowledge"]["search_strategy"] == 1
    version = _ok(api.post(f"/agents/{agent['id']}/publish"))["version"]
    frozen = _ok(api.get(f"/agents/{agent['id']}/versions/{version}"))["config"]
    assert frozen["knowledge"]["search_strategy"] == 1 and frozen["plugins"] == plugins


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"knowledge": {"dataset_ids": [], "auto_call": True, "search_strategy": 7}}, "knowledge.search_strategy"),
        ({"knowledge": {"search_strategy": "hybrid"}}, "knowledge.search_strategy"),
        ({"workflow_ids": ["123"]}, "workflow 123 not found"),
        ({"workflow_ids": "123"}, "workflow_ids"),
        ({"workflow_ids": [str(n) for n in range(21)]}, "workflow_ids"),
        ({"plugins": [{"plugin_id": "builtin.calculator", "api_id": "clock"}]}, "has no operation 'clock'"),
        ({"plugins": [{"plugin_id": "builtin.nothing", "api_id": "x"}]}, "builtin.nothing not found"),
    ],
)
def test_bad_new_fields_are_a_4000_naming_the_field(studio: Studio, change: dict[str, Any], problem: str) -> None:
    agent = _agent(studio.api, "Strict fields")
    response = _save(studio.api, agent, **change)
    assert _code(response) == (400, 4000) and problem in response.json()["msg"], response.text


def test_another_workspaces_workflow_is_refused(studio: Studio) -> None:
    api = studio.api
    workflow = _ok(api.post("/workflows/import", json={"text": APPROVAL}))["id"]
    token = studio.make_key("--workspace", "Workflow elsewhere")
    with httpx.Client(base_url=api.base_url, headers={"authorization": f"Bearer {token}"}) as other:
        agent = _ok(other.post("/agents", json={"name": "Theirs", "model_id": "scripted/echo"}))
        response = other.put(f"/agents/{agent['id']}", json={**agent["draft"], "workflow_ids": [workflow]})
        assert _code(response) == (400, 4000) and f"workflow {workflow} not found" in response.json()["msg"]


def test_the_plugins_an_agent_may_bind_are_listed_by_kind(studio: Studio) -> None:
    token = studio.make_key("--name", "plugin maker")
    with httpx.Client(base_url=str(studio.api.base_url).removesuffix("/api/studio/")) as coze:
        coze.headers["authorization"] = f"Bearer {token}"
        space_id = coze.get("/v1/workspaces").json()["data"]["workspaces"][0]["id"]
        plugin = {"space_id": space_id, "name": "weather", "type": "openapi", "openapi": {"document": PLUGIN_SPEC}}
        created = coze.post("/v1/plugins/create", json=plugin).json()
        assert created["code"] == 0, created
        server = {"transport": "stdio", "command": sys.executable, "args": [str(MCP_ECHO), "stdio"]}
        mcp = coze.post("/v1/plugins/create", json={"space_id": space_id, "name": "echo", "type": "mcp", "mcp": server})
        assert mcp.json()["code"] == 0, mcp.text
    items = _ok(studio.api.get("/plugins"))["items"]
    (weather,) = [item for item in items if item["id"] == created["data"]["plugin_id"]]
    assert weather["kind"] == "openapi" and [op["name"] for op in weather["operations"]] == ["forecast"]
    (echo,) = [item for item in items if item["id"] == mcp.json()["data"]["plugin_id"]]
    assert echo["kind"] == "mcp" and {"add", "echo"} <= {op["name"] for op in echo["operations"]}
    agent = _agent(studio.api, "Uses an MCP server")
    bound = [{"plugin_id": echo["id"], "api_id": "add"}, {"plugin_id": weather["id"], "api_id": "forecast"}]
    assert _ok(_save(studio.api, agent, plugins=bound))["draft"]["plugins"] == bound
    assert _ok(studio.api.get(f"/agents/{agent['id']}"))["draft"]["plugins"] == bound
    assert [item["kind"] for item in items].index("openapi") > [item["kind"] for item in items].index("builtin")
    builtins = {item["id"]: item for item in items if item["kind"] == "builtin"}
    assert {"builtin.calculator", "builtin.clock", "builtin.http_request", "builtin.code_runner"} <= set(builtins)
    calculator = builtins["builtin.calculator"]
    assert [op["name"] for op in calculator["operations"]] == ["calculator"] and calculator["description"]
