"""``GET /api/studio/audit`` and ``plait audit list`` on a real server, SQLite and PostgreSQL: a studio key
made over HTTP is one row naming the key that made it (never the token); a write refused with 4xx adds no row;
members and viewers get 403; bad filters get 400 with code 4000; OpenAPI documents it; the CLI lists the same rows."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from server_harness import Running, run_cli
from typer.testing import CliRunner

from plait.cli import app as cli


def _audit(server: Running, token: str, **params: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"}
    return httpx.get(f"{server.base_url}/api/studio/audit", params=params, headers=headers, timeout=30)


def _key_id(server: Running, token: str) -> str:
    """The id of the key ``token`` is (the studio's key list shows prefixes, the CLI's keys list ids)."""
    listed = httpx.get(f"{server.base_url}/api/studio/keys", headers={"authorization": f"Bearer {token}"}).json()
    (key,) = [key for key in listed["items"] if token.startswith(key["prefix"])]
    return str(key["id"])


def test_a_studio_action_is_one_row_naming_its_key_and_never_its_token(server: Running, token: str) -> None:
    before = _audit(server, token, action="api_key").json()["total"]
    made = httpx.post(
        f"{server.base_url}/api/studio/keys", json={"name": "audited"}, headers={"authorization": f"Bearer {token}"}
    )
    assert made.status_code == 201, made.text
    page = _audit(server, token, action="api_key.create", page_size=1)
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == before + 1 and body["has_more"] == (before > 0)
    (event,) = body["items"]
    assert (event["target_type"], event["target_id"], event["action"]) == (
        "api_key",
        made.json()["id"],
        "api_key.create",
    )
    assert event["actor_key_id"] == _key_id(server, token) and event["actor_user_id"]
    assert event["detail"]["name"] == "audited"
    assert "api_key.create" in body["actions"]
    assert made.json()["token"] not in page.text and made.json()["token"] not in run_cli(server.env, "audit", "list")


def test_a_refused_write_adds_no_row(server: Running, token: str) -> None:
    before = _audit(server, token).json()["total"]
    headers = {"authorization": f"Bearer {token}"}
    refused = [
        httpx.post(f"{server.base_url}/api/studio/keys", json={"name": ""}, headers=headers),
        httpx.post(f"{server.base_url}/api/studio/keys", json={"name": "a\x00b"}, headers=headers),
        httpx.post(f"{server.base_url}/api/studio/keys", json={"name": "x", "scopes": ["nope"]}, headers=headers),
        httpx.post(f"{server.base_url}/api/studio/keys/404/revoke", headers=headers),
        httpx.put(f"{server.base_url}/api/studio/providers/gw", json={"base_url": "ftp://x"}, headers=headers),
        httpx.put(
            f"{server.base_url}/api/studio/providers/gw",
            json={"kind": "openai_compat", "base_url": "http://[::1/v1", "api_key": "sk-refused"},
            headers=headers,
        ),
        httpx.delete(f"{server.base_url}/api/studio/providers/nothing", headers=headers),
        httpx.post(f"{server.base_url}/api/studio/agents/404/publish", headers=headers),
    ]
    assert [r.status_code for r in refused] == [400, 400, 400, 404, 400, 400, 404, 404], [r.text for r in refused]
    assert _audit(server, token).json()["total"] == before


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_cannot_read_the_log(server: Running, role: str) -> None:
    token = server.make_key("--user", f"audit-{role}", "--role", role)
    answer = _audit(server, token)
    assert answer.status_code == 403 and answer.json()["code"] == 4101, answer.text


@pytest.mark.parametrize(
    "params",
    [
        {"action": "apikey"},
        {"action": "api"},
        {"action": "API_KEY"},
        {"action": "x" * 65},
        {"since": "-1"},
        {"since": "yesterday"},
        {"since": "10", "until": "5"},
        {"until": str(2**64)},
        {"page_num": "0"},
        {"page_size": "101"},
        {"actor": ""},
        {"actor": "a\x00b"},
    ],
)
def test_bad_filters_answer_400_with_code_4000(server: Running, token: str, params: dict[str, str]) -> None:
    answer = _audit(server, token, **params)
    assert answer.status_code == 400 and answer.json()["code"] == 4000, answer.text


def test_the_cli_lists_the_instance_and_filters(server: Running, token: str) -> None:
    server.make_key("--workspace", "Audit elsewhere", "--name", "elsewhere")
    lines = [json.loads(line) for line in run_cli(server.env, "audit", "list", "--json", "--actor", "cli").splitlines()]
    assert lines and {event["actor_key_id"] for event in lines} == {"cli"}
    assert [event["at"] for event in lines] == sorted((event["at"] for event in lines), reverse=True)
    elsewhere = run_cli(
        server.env, "audit", "list", "--json", "--workspace", "Audit elsewhere", "--since", "2020-01-01"
    )
    actions = [json.loads(line)["action"] for line in elsewhere.splitlines()]
    assert actions == ["api_key.create", "workspace.create"]
    table = run_cli(server.env, "audit", "list", "--action", "workspace", "--page-size", "1")
    assert "workspace.create" in table and "--page 2" in table
    for bad, code in (
        (["--action", "nope"], 1),
        (["--workspace", "No such"], 1),
        (["--since", "yesterday"], 2),
        (["--page-size", "0"], 2),
    ):
        result = CliRunner().invoke(cli, ["audit", "list", *bad], env=server.env)
        assert result.exit_code == code, (bad, result.output)


def test_the_route_is_documented_with_its_filters_and_error_answers(server: Running) -> None:
    operation = httpx.get(f"{server.base_url}/openapi.json").json()["paths"]["/api/studio/audit"]["get"]
    filters = {"action", "actor", "since", "until", "page_num", "page_size"}
    assert {parameter["name"] for parameter in operation["parameters"]} >= filters
    assert {"200", "400", "401", "403"} <= operation["responses"].keys() and "422" not in operation["responses"]
