"""A real Plait server in a thread of this process, on 127.0.0.1 and a free port: what the studio tests and
the screenshots script talk to. Imported by name (``from live_server import serve``): pytest puts this folder
on ``sys.path``, and so does running a script from it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from typer.testing import CliRunner

from plait.cli import app as cli
from plait.server import create_app
from plait.settings import Settings

START_SECONDS = 30
STUDIO = {"x-plait-studio": "1"}  # what the page sends: with no key, the loopback owner


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The server's base URL while it runs; it stops (running chats and runs ended) when the block ends."""
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    (port,) = {sock.getsockname()[1] for s in server.servers for sock in s.sockets}
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_SECONDS)


@contextmanager
def studio_client(data_dir: Path, database_url: str = "") -> Iterator[tuple[httpx.Client, Callable[..., str]]]:
    """A server on ``data_dir`` (SQLite, or ``database_url``) with the hashing embedder: the loopback owner's
    ``/api/studio`` client, and a maker of keys the way an admin makes them (``plait keys create`` options)."""
    settings = Settings.load(data_dir=data_dir, database_url=database_url, embedder="hashing", auth_cache_seconds=0)
    env = {"PLAIT_DATA_DIR": str(data_dir), "PLAIT_DATABASE_URL": database_url}

    def make_key(*options: str) -> str:
        result = CliRunner().invoke(cli, ["keys", "create", *options], env=env)
        assert result.exit_code == 0, result.output
        return result.output.strip().splitlines()[-1]

    with serve(settings) as url, httpx.Client(base_url=url + "/api/studio", headers=STUDIO, timeout=30) as api:
        yield api, make_key
