"""One real Plait server for the studio tests (SQLite, hashing embedder, a slow scripted model to stop
mid-answer), its base URL, and an admin key of its default workspace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from live_server import serve
from typer.testing import CliRunner

from plait.cli import app as cli
from plait.models.registry import ProviderConfig, default_registry
from plait.settings import Settings

SLOW_MODEL = "studioslow/echo"  # a word every 100 ms: long enough to press stop mid-answer
STUDIO = {"x-plait-studio": "1"}  # what the page sends: with no key, the loopback owner


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
    try:
        with serve(settings) as url:
            yield url
    finally:
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


@pytest.fixture(scope="package")
def api(base_url: str) -> Iterator[httpx.Client]:
    """The loopback owner's client: no key, the studio header."""
    with httpx.Client(base_url=base_url + "/api/studio", headers=STUDIO, timeout=30) as client:
        yield client
