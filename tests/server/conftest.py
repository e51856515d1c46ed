"""A real Plait server on 127.0.0.1 (uvicorn in a thread) over a fresh data dir, once per database, and keys
made the way an admin makes them: through ``plait keys create``."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from cozepy import Coze
from pg_admin import admin_sql
from server_harness import MAX_BODY, MAX_UPLOAD, Running, free_port, run_cli

from plait.server import create_app
from plait.settings import Settings


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    env = {"PLAIT_DATA_DIR": str(tmp_path_factory.mktemp("data")), "PLAIT_DATABASE_URL": ""}
    database = None
    if request.param == "postgresql":
        database = f"plait_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(admin_sql(f'CREATE DATABASE "{database}"'))
        env["PLAIT_DATABASE_URL"] = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    settings = Settings.load(
        data_dir=Path(env["PLAIT_DATA_DIR"]),
        database_url=env["PLAIT_DATABASE_URL"],
        max_body_bytes=MAX_BODY,
        embedder="hashing",  # datasets embed with no model, instantly
        auth_cache_seconds=0,  # a revoked key fails at once (test_server_process covers the cache)
        max_upload_bytes=MAX_UPLOAD,
    )
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)

    def make_key(*options: str) -> str:
        return run_cli(env, "keys", "create", *options).strip().splitlines()[-1]

    running = Running(base_url=f"http://127.0.0.1:{port}", env=env, make_key=make_key)
    try:
        yield running
    finally:
        running.close()
        uv.should_exit = True
        thread.join(timeout=30)
        if database:
            asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def token(server: Running) -> str:
    """An admin key of the default workspace."""
    return server.make_key()


@pytest.fixture(scope="module")
def coze(server: Running, token: str) -> Coze:
    return server.coze(token)


@pytest.fixture(scope="module")
def space_id(coze: Coze) -> str:
    return coze.workspaces.list().items[0].id
