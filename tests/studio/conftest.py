"""One real Plait server for the studio tests (SQLite, hashing embedder, a slow scripted model to stop
mid-answer), its base URL, and an admin key of its default workspace."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from plait.cli import app as cli
from plait.models.registry import ProviderConfig, default_registry
from plait.server import create_app
from plait.settings import Settings

SLOW_MODEL = "studioslow/echo"  # a word every 100 ms: long enough to press stop mid-answer


@pytest.fixture(scope="package")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("studio-data")


@pytest.fixture(scope="package")
def base_url(data_dir: Path) -> Iterator[str]:
    registry = default_registry()
    registry.add_provider(
        ProviderConfig(name="studioslow", kind="scripted", models=("echo",), default_options={"token_delay": 0.1})
    )
    settings = Settings.load(data_dir=data_dir, database_url="", embedder="hashing", auth_cache_seconds=0)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    (port,) = {sock.getsockname()[1] for s in server.servers for sock in s.sockets}
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        registry.remove_provider("studioslow")


@pytest.fixture(scope="package")
def slow_model(base_url: str) -> str:
    """A scripted echo that streams a word every 100 ms (registered while the server runs)."""
    return SLOW_MODEL


@pytest.fixture(scope="package")
def make_key(base_url: str, data_dir: Path) -> Callable[..., str]:
    """Keys made the way an admin makes them: ``plait keys create [options]`` on the server's data dir."""
    env = {"PLAIT_DATA_DIR": str(data_dir), "PLAIT_DATABASE_URL": ""}

    def make(*options: str) -> str:
        result = CliRunner().invoke(cli, ["keys", "create", *options], env=env)
        assert result.exit_code == 0, result.output
        return result.output.strip().splitlines()[-1]

    return make


@pytest.fixture(scope="package")
def admin_key(make_key: Callable[..., str]) -> str:
    return make_key("--name", "studio-tests")
