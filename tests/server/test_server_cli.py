"""``plait keys`` and ``plait db`` without a running server, and ``plait serve``'s settings check."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from server_harness import Running, run_cli
from typer.testing import CliRunner

from plait.cli import app as cli


def test_keys_create_prints_a_working_token_last(server: Running) -> None:
    output = run_cli(server.env, "keys", "create", "--name", "ci")
    token = output.strip().splitlines()[-1]
    assert token.startswith("pat_")
    response = httpx.get(f"{server.base_url}/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json()["data"]["user_name"] == "admin"
    assert token not in run_cli(server.env, "keys", "list")


def test_keys_and_db_work_with_the_server_stopped(tmp_path: Path) -> None:
    env = {"PLAIT_DATA_DIR": str(tmp_path), "PLAIT_DATABASE_URL": ""}
    assert "latest revision" in run_cli(env, "db", "upgrade")
    token = run_cli(env, "keys", "create").strip().splitlines()[-1]
    assert token.startswith("pat_")
    assert "active" in run_cli(env, "keys", "list")


def test_revoking_an_unknown_key_fails(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["keys", "revoke", "123"], env={"PLAIT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1 and "api key 123 not found" in result.output


def test_serve_rejects_bad_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAIT_PORT", raising=False)  # serve exports its options for worker processes
    env = {"PLAIT_DATA_DIR": str(tmp_path), "PLAIT_DATABASE_URL": "mysql://x/y"}
    result = CliRunner().invoke(cli, ["serve", "--port", "8123"], env=env)
    assert result.exit_code == 2 and "database_url" in result.output


def test_keys_create_with_scopes_and_list_shows_them(server: Running) -> None:
    output = run_cli(server.env, "keys", "create", "--name", "bots-only", "--scope", "bots", "--scope", "chat")
    token = output.strip().splitlines()[-1]
    run_cli(server.env, "keys", "create", "--name", "everything")
    listing = run_cli(server.env, "keys", "list")
    assert re.search(r"bots-only  active  scopes: bots,chat  last used: never", listing)
    assert re.search(r"everything  active  scopes: all  last used: never", listing)
    response = httpx.get(f"{server.base_url}/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and "'workspaces' scope" in response.json()["msg"]
    used = re.search(r"bots-only  active  scopes: bots,chat  last used: (.+)", run_cli(server.env, "keys", "list"))
    assert used and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", used[1])


def test_keys_create_rejects_an_unknown_scope_before_opening_the_database(tmp_path: Path) -> None:
    env = {"PLAIT_DATA_DIR": str(tmp_path), "PLAIT_DATABASE_URL": ""}
    result = CliRunner().invoke(cli, ["keys", "create", "--scope", "bots", "--scope", "admin"], env=env)
    assert result.exit_code == 2
    assert "unknown scope 'admin'" in result.output and "workspaces" in result.output
    assert not (tmp_path / "plait.db").exists()
