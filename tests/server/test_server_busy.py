"""A PostgreSQL process whose connections are all taken answers 503 with Retry-After once its pool has waited
``PLAIT_DATABASE_POOL_TIMEOUT_SECONDS`` (Coze 5003, OpenAI server_busy), not an internal error; the next
request, with a connection free again, is served."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from server_harness import run_cli

from plait.server import create_app
from plait.settings import Settings


def test_a_process_out_of_connections_answers_503_then_serves_again(
    tmp_path: Path, new_pg_database: Callable[[], str]
) -> None:
    pg_url = new_pg_database()
    env = {"PLAIT_DATA_DIR": str(tmp_path), "PLAIT_DATABASE_URL": pg_url}
    token = run_cli(env, "keys", "create").strip().splitlines()[-1]
    settings = Settings.load(
        data_dir=tmp_path, database_url=pg_url, database_pool_size=2, database_pool_timeout_seconds=0.3,
        auth_cache_seconds=0,
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        portal = client.portal
        assert portal is not None
        assert client.get("/v1/workspaces", headers=headers).status_code == 200
        assert client.get("/openai/v1/models", headers=headers).status_code == 200
        engine = client.app.state.services.database.engine  # type: ignore[attr-defined]
        held: list[Any] = []

        async def take_every_connection() -> None:
            held.extend([await engine.connect().start() for _ in range(2)])

        async def give_them_back() -> None:
            for connection in held:
                await connection.close()

        portal.call(take_every_connection)
        busy = client.get("/v1/workspaces", headers=headers)
        assert busy.status_code == 503
        assert busy.json()["code"] == 5003
        assert "busy" in busy.json()["msg"]
        assert busy.headers["retry-after"] == "1"
        openai_busy = client.get("/openai/v1/models", headers=headers)  # the OpenAI SDK retries a 503
        assert openai_busy.status_code == 503
        assert openai_busy.json()["error"]["type"] == "server_error"
        assert openai_busy.json()["error"]["code"] == "server_busy"
        assert openai_busy.headers["retry-after"] == "1"

        portal.call(give_them_back)
        assert client.get("/v1/workspaces", headers=headers).json()["code"] == 0
        assert client.get("/openai/v1/models", headers=headers).status_code == 200
